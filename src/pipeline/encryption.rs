//! Client-side encryption with age (X25519): the gzip stream is encrypted
//! before it leaves the machine, so anyone holding only the bucket (or its
//! provider) cannot read student data. Recipients are public keys
//! (`age1...`); identities (`AGE-SECRET-KEY-1...`) are read from a file and
//! never printed.

use std::io::{BufRead, Write};
use std::path::Path;
use std::str::FromStr;

use age::x25519::{Identity, Recipient};
use anyhow::{Context, Result};

use crate::exit;

pub const SCHEME: &str = "age-x25519";

/// Parse `age1...` recipients; a bad one is a configuration error.
pub fn parse_recipients(keys: &[String]) -> Result<Vec<Recipient>> {
    keys.iter()
        .map(|k| {
            Recipient::from_str(k.trim()).map_err(|e| {
                exit::usage(format!(
                    "{k:?} is not an age X25519 recipient (age1...): {e}"
                ))
            })
        })
        .collect()
}

/// Read X25519 identities from an age identity file (`age-keygen` output:
/// comments and `AGE-SECRET-KEY-1...` lines).
pub fn load_identities(path: &Path) -> Result<Vec<Identity>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| exit::usage(format!("cannot read identity file {}: {e}", path.display())))?;
    let identities: Vec<Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, line)| {
            Identity::from_str(line).map_err(|_| {
                // The line is a secret: never echo it.
                exit::usage(format!(
                    "identity file {}: entry {} is not an age X25519 secret key",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect::<Result<_>>()?;
    if identities.is_empty() {
        return Err(exit::usage(format!(
            "identity file {} holds no age secret key",
            path.display()
        )));
    }
    Ok(identities)
}

/// Encrypt everything written to the returned writer to `recipients`.
/// Call `finish()` on it at the end.
pub fn encrypt<W: Write>(
    recipients: &[Recipient],
    output: W,
) -> Result<age::stream::StreamWriter<W>> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .context("cannot set up encryption")?;
    encryptor
        .wrap_output(output)
        .context("cannot write the encryption header")
}

/// Decrypt a stored stream. A key that does not match is a configuration
/// error, reported before any plaintext is produced.
pub fn decrypt<R: BufRead>(
    identities: &[Identity],
    input: R,
) -> Result<age::stream::StreamReader<R>> {
    let decryptor = age::Decryptor::new_buffered(input)
        .map_err(|e| anyhow::anyhow!("the stored object is not a readable age file: {e}"))?;
    decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => exit::usage(
                "cannot decrypt the backup: no identity in the identity file matches its \
                 recipients (see the manifest's encryption.recipients)",
            ),
            other => anyhow::anyhow!("cannot decrypt the backup: {other}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;
    use std::io::Read;

    #[test]
    fn round_trip_and_wrong_key() {
        let id = Identity::generate();
        let other = Identity::generate();
        let mut w = encrypt(&[id.to_public()], Vec::new()).unwrap();
        w.write_all(b"student records").unwrap();
        let sealed = w.finish().unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"student"));
        let mut plain = Vec::new();
        decrypt(std::slice::from_ref(&id), &sealed[..])
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"student records");
        let err = decrypt(&[other], &sealed[..]).err().unwrap();
        assert_eq!(exit::code_for(&err), exit::ExitCode::Usage);
    }

    #[test]
    fn identity_files_never_echo_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        let id = Identity::generate();
        let secret = id.to_string();
        std::fs::write(
            &path,
            format!(
                "# created: now\n# public key: {}\n{}\n",
                id.to_public(),
                secret.expose_secret()
            ),
        )
        .unwrap();
        assert_eq!(load_identities(&path).unwrap().len(), 1);
        std::fs::write(&path, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
        let err = load_identities(&path).err().unwrap();
        assert!(!format!("{err:#}").contains("NOTAKEY"));
        assert!(parse_recipients(&["age1bogus".into()]).is_err());
    }
}
