//! `mugai`: the command-line face of the mugai sanitizer.
//!
//! Exit codes: 0 clean, 1 something found, disarmed, quarantined or rejected,
//! 2 error (unreadable input, bad policy, or the engine could not decide).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use mugai_core::{Direction, Engine, LureRules, Policy};

/// mimalloc gives a burst's memory back to the system within seconds;
/// glibc's per-thread arenas kept much of it (BENCHMARKS.md, "The relay
/// under load and abuse").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod eval;
#[cfg(feature = "yara")]
mod rules;
mod sanitize;
mod scan;
mod serve;

#[derive(Parser)]
#[command(
    name = "mugai",
    version,
    about = "Mail sanitization (無害化) between segments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sanitize one message and write the rebuilt message.
    Sanitize {
        /// The message (.eml); `-` reads standard input.
        input: PathBuf,
        /// Where to write the rebuilt message; standard output if absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Where to write the JSON report.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Scan files and directories (eml, mbox, or bare attachments) and summarize.
    Scan {
        /// Files or directories, walked recursively.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Run the SMTP relay: built-in defaults (127.0.0.1:2525, mail into
    /// ./mugai-data/delivered) unless a configuration is given.
    Serve {
        /// Configuration file (TOML); see docs/relay.md.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Check the configuration and the policy, then exit.
        #[arg(long)]
        check_config: bool,
        /// Log JSON lines instead of text (to standard error).
        #[arg(long)]
        json_logs: bool,
    },
    /// Score labelled mail for lures: catch rate, false positives, a
    /// confusion table per threshold, symbols by precision.
    Eval {
        /// Directory of lures (eml, mbox, `.in.zip` samples), walked recursively.
        #[arg(long)]
        phish: PathBuf,
        /// Directory of legitimate mail.
        #[arg(long)]
        ham: PathBuf,
        /// Message-IDs our side sent, one per line, for the thread symbols.
        #[arg(long)]
        sent: Option<PathBuf>,
        /// Print one JSON document instead of the tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Look at, release or delete quarantined originals.
    Quarantine {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// The audit log.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// YARA rules: compile them, or run them against their examples.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Sample corpus helpers.
    Sample {
        #[command(subcommand)]
        command: SampleCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile the rules and report errors with file and line (exit 2).
    Check {
        /// Directory of `.yar`/`.yara` files; the built-in starter set if absent.
        dir: Option<PathBuf>,
    },
    /// Run every rule against its examples: `<samples>/<rule>/positive/*`
    /// must match, `<samples>/<rule>/negative/*` must not (exit 1 if not).
    Test {
        /// Directory of `.yar`/`.yara` files; the built-in starter set if absent.
        dir: Option<PathBuf>,
        /// Where the examples are.
        #[arg(long, default_value = "samples/yara")]
        samples: PathBuf,
    },
}

#[derive(Subcommand)]
enum SampleCommand {
    /// Store dangerous files as `<name>.in.zip` (base64 text in a zip), never raw.
    Encode {
        /// Files to encode; each `F` becomes `F.in.zip` beside it.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the files a corpus holds into a directory, decoding `.in.zip`
    /// containers (for fuzz seeds and for looking at a sample with other tools).
    Decode {
        /// Where to write; created if missing.
        #[arg(long)]
        out: PathBuf,
        /// Sample files; containers are decoded, others copied.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct StoreArgs {
    /// The relay's configuration, for its store and listeners.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The store, overriding the configuration's: a directory or a
    /// `postgres://` URL.
    #[arg(long, global = true)]
    store: Option<String>,
}

impl StoreArgs {
    /// The configuration, with `--store` in place of its store.
    fn config(&self) -> Result<mugai_smtp::Config> {
        let mut config = serve::load_config(self.config.as_deref())?;
        if let Some(store) = &self.store {
            config.store = mugai_store::StoreLocation::parse(store);
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// Every entry, oldest first.
    List,
    /// One entry's envelope and report as JSON (`--raw`: the original message).
    Show {
        /// The entry id, as `list` prints it.
        id: String,
        /// Print the original message instead.
        #[arg(long)]
        raw: bool,
    },
    /// Send the original, unsanitized, to its recipients via the listener's next hop.
    Release {
        /// The entry id.
        id: String,
    },
    /// Delete an entry (and the original once nothing else refers to it).
    Delete {
        /// The entry id.
        id: String,
    },
    /// Remove the entries past their retention (`retention_days`), as the
    /// relay does every hour; each removal is an audit record.
    Expire,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the audit log, every segment; exit 1 if it
    /// is broken.
    Verify,
    /// Close the open segment (`audit-NNNNNN.jsonl`); the chain goes on in
    /// a new one. Safe while the relay runs (e.g. monthly from cron).
    Rotate,
}

#[derive(clap::Args)]
struct PolicyArgs {
    /// Policy file (TOML); the built-in defaults otherwise (see rules/policy.toml).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Lure rules file (TOML); the built-in rules otherwise (see rules/lure.toml).
    #[arg(long)]
    lure_rules: Option<PathBuf>,
    /// Directory of YARA rules; the built-in starter set otherwise (rules/yara/).
    #[arg(long)]
    yara_rules: Option<PathBuf>,
    /// Which way the mail crosses.
    #[arg(long, value_enum, default_value_t = DirectionArg::Inbound)]
    direction: DirectionArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Inbound,
    Outbound,
}

impl PolicyArgs {
    fn engine(&self) -> Result<(Engine, Direction)> {
        let policy = match &self.policy {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading policy {}", path.display()))?;
                Policy::from_toml(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Policy::default(),
        };
        let direction = match self.direction {
            DirectionArg::Inbound => Direction::Inbound,
            DirectionArg::Outbound => Direction::Outbound,
        };
        let mut engine = Engine::new(policy);
        if let Some(path) = &self.lure_rules {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading lure rules {}", path.display()))?;
            let rules =
                LureRules::from_toml(&text).with_context(|| format!("in {}", path.display()))?;
            engine = engine.with_lure_rules(rules);
        }
        #[cfg(feature = "yara")]
        {
            let rules = rules::load(self.yara_rules.as_deref())?;
            engine = engine.with_yara(std::sync::Arc::new(rules));
        }
        #[cfg(not(feature = "yara"))]
        if self.yara_rules.is_some() {
            anyhow::bail!("this mugai was built without the yara feature");
        }
        Ok((engine, direction))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sanitize {
            input,
            output,
            report,
            policy,
        } => policy.engine().and_then(|(engine, dir)| {
            sanitize::run(&engine, dir, &input, output.as_deref(), report.as_deref())
        }),
        Command::Scan {
            paths,
            json,
            jobs,
            policy,
        } => policy
            .engine()
            .and_then(|(engine, dir)| scan::run(&engine, dir, &paths, json, jobs)),
        Command::Eval {
            phish,
            ham,
            sent,
            json,
            policy,
        } => policy.engine().and_then(|(engine, _)| {
            let engine = match &sent {
                Some(path) => engine.with_sent_log(std::sync::Arc::new(eval::sent_log(path)?)),
                None => engine,
            };
            eval::run(&engine, &phish, &ham, json)
        }),
        #[cfg(feature = "yara")]
        Command::Rules { command } => match command {
            RulesCommand::Check { dir } => rules::check(dir.as_deref()),
            RulesCommand::Test { dir, samples } => rules::test(dir.as_deref(), &samples),
        },
        #[cfg(not(feature = "yara"))]
        Command::Rules { .. } => Err(anyhow::anyhow!(
            "this mugai was built without the yara feature"
        )),
        Command::Serve {
            config,
            check_config,
            json_logs,
        } => serve::serve(config.as_deref(), check_config, json_logs),
        Command::Quarantine { store, command } => store.config().and_then(|config| match command {
            QuarantineCommand::List => serve::quarantine_list(&config),
            QuarantineCommand::Show { id, raw } => serve::quarantine_show(&config, &id, raw),
            QuarantineCommand::Release { id } => serve::quarantine_release(&config, &id),
            QuarantineCommand::Delete { id } => serve::quarantine_delete(&config, &id),
            QuarantineCommand::Expire => serve::quarantine_expire(&config),
        }),
        Command::Audit { store, command } => store.config().and_then(|config| match command {
            AuditCommand::Verify => serve::audit_verify(&config),
            AuditCommand::Rotate => serve::audit_rotate(&config),
        }),
        Command::Sample {
            command: SampleCommand::Encode { files },
        } => encode(&files),
        Command::Sample {
            command: SampleCommand::Decode { out, files },
        } => decode(&out, &files),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("mugai: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn decode(out_dir: &std::path::Path, files: &[PathBuf]) -> Result<u8> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for file in files {
        let (file_name, bytes) = read_named(file)?;
        let (name, data) = mugai_core::input::sample_file(file_name, bytes)
            .with_context(|| format!("in {}", file.display()))?;
        // The name comes from inside a container: keep only its last component.
        let name = std::path::Path::new(&name)
            .file_name()
            .context("container entry has no file name")?;
        std::fs::write(out_dir.join(name), data)
            .with_context(|| format!("writing into {}", out_dir.display()))?;
    }
    Ok(0)
}

/// A file's name (which must be UTF-8: it goes into a container) and bytes.
fn read_named(file: &std::path::Path) -> Result<(&str, Vec<u8>)> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: file name is not UTF-8", file.display()))?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    Ok((name, bytes))
}

fn encode(files: &[PathBuf]) -> Result<u8> {
    for file in files {
        let (name, bytes) = read_named(file)?;
        let out = file.with_file_name(format!("{name}.in.zip"));
        let container = mugai_core::input::encode_container(name, &bytes)
            .with_context(|| format!("encoding {}", file.display()))?;
        std::fs::write(&out, container).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("{} -> {}", file.display(), out.display());
    }
    Ok(0)
}
