//! End-to-end: the `mugai` binary on the corpus, judged as a user would.

mod accounting;
mod cli;
mod independent;
mod nodes;
mod office;
mod pdf;
mod relay;
