//! STARTTLS material: a certificate from files, or a self-signed one.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ConfigError, TlsConfig};

/// The rustls server configuration for one listener.
pub(crate) fn server_config(
    tls: &TlsConfig,
    hostname: &str,
) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let (certs, key) = match tls {
        TlsConfig::Files { cert, key } => {
            let bad = |path: &std::path::Path, e: rustls_pki_types::pem::Error| ConfigError::File {
                path: path.to_owned(),
                what: e.to_string(),
            };
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(cert, e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e))?;
            (certs, key)
        }
        TlsConfig::SelfSigned => self_signed(hostname)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| ConfigError::Invalid(format!("TLS: {e}")))?;
    Ok(Arc::new(config))
}

fn self_signed(
    hostname: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ConfigError> {
    let generated = rcgen::generate_simple_self_signed(vec![hostname.to_owned()])
        .map_err(|e| ConfigError::Invalid(format!("generating a certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| ConfigError::Invalid(format!("generated key: {e}")))?;
    Ok((vec![generated.cert.der().clone()], key))
}
