//! TLS for our own PostgreSQL connections, verifying exactly as libpq does
//! for the same URL, so that k12ctl and its pg_dump/pg_restore children
//! trust the same servers:
//!
//! - the roots are `sslrootcert`, `system` (the system's CA bundle), or
//!   `~/.postgresql/root.crt` (`ConnInfo::root_certs`);
//! - when that file exists, the chain is checked in every mode, `require`
//!   and `prefer` included (libpq's rule, kept for compatibility);
//! - when it does not, `verify-ca` and `verify-full` fail with libpq's advice
//!   and the weaker modes encrypt without checking;
//! - `verify-full` also checks the host name (or IP address) against the
//!   certificate's subject alternative names.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::conn::{ConnInfo, RootCerts, SslMode};
use crate::exit;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn load_roots(path: &Path) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read root certificate file {}", path.display()))?
    {
        let cert =
            cert.with_context(|| format!("root certificate file {} is not PEM", path.display()))?;
        store
            .add(cert)
            .with_context(|| format!("bad certificate in {}", path.display()))?;
    }
    anyhow::ensure!(
        !store.is_empty(),
        "root certificate file {} holds no certificate",
        path.display()
    );
    Ok(store)
}

/// The roots to verify the server with, or None when libpq would not verify
/// it; an error where libpq refuses to connect.
fn roots_for(info: &ConnInfo) -> Result<Option<RootCertStore>> {
    let found = info.root_certs();
    if let Some(path) = found.existing_file() {
        return load_roots(path).map(Some);
    }
    if !info.sslmode.requires_verification() {
        return Ok(None);
    }
    let mode = info.sslmode.as_str();
    Err(exit::usage(match found {
        RootCerts::File(path) => format!(
            "sslmode={mode} needs the root certificate file {}, which does not exist: \
             provide it (sslrootcert=PATH in the database URL), use the system's trusted roots \
             with sslrootcert=system, or use an sslmode that does not verify the server \
             (libpq refuses the same)",
            path.display()
        ),
        RootCerts::System(_) => "sslrootcert=system: no system CA bundle found \
             (set SSL_CERT_FILE to the bundle, e.g. /etc/ssl/certs/ca-certificates.crt)"
            .to_owned(),
        RootCerts::NoHomeDirectory => format!(
            "sslmode={mode} needs a root certificate file, and there is no home directory \
             to find ~/.postgresql/root.crt in: set sslrootcert in the database URL"
        ),
    }))
}

/// The rustls configuration for the URL's sslmode and roots.
pub fn client_config(info: &ConnInfo) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?;
    let config = match (info.sslmode, roots_for(info)?) {
        (SslMode::VerifyFull, Some(roots)) => {
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        (_, Some(roots)) => {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .context("TLS setup failed")?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { inner }))
                .with_no_client_auth()
        }
        (_, None) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                provider: provider(),
            }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `verify-ca`, and the weaker modes when a root file exists: the chain must
/// lead to a trusted root; the name may differ.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The weaker modes without a root file: encryption without authentication
/// of the server, as libpq.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
