//! Resolving an inventory [`Credential`] reference into what SSH needs: an
//! unencrypted private key (OpenSSH, PKCS#8 or PEM), or a password from an
//! environment variable or the first line of a file. Error texts name the
//! reference (path, variable name), never the secret.

use super::files::read_bounded;
use super::pin;
use crate::inventory::Credential;
use crate::model::Secret;
use russh::keys::PrivateKey;
use std::path::Path;
use std::sync::Arc;

/// Largest private key or password file read.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;
/// Longest password accepted.
const MAX_PASSWORD_BYTES: usize = 1024;

/// What we authenticate with.
#[derive(Clone)]
pub(crate) enum AuthSecret {
    Key(Arc<PrivateKey>),
    Password(Secret),
}

impl std::fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthSecret::Key(k) => write!(f, "Key({})", pin::describe(k.public_key())),
            AuthSecret::Password(_) => f.write_str("Password(<redacted>)"),
        }
    }
}

/// Resolves the reference. Reads files and the environment now, so a
/// rotated key or password is picked up by the next connection.
pub(crate) fn load(cred: &Credential) -> Result<AuthSecret, String> {
    match cred {
        Credential::KeyFile(path) => load_key(path).map(|k| AuthSecret::Key(Arc::new(k))),
        Credential::PasswordEnv(var) => {
            let v = std::env::var(var).map_err(|e| match e {
                std::env::VarError::NotPresent => format!("password variable {var} is not set"),
                std::env::VarError::NotUnicode(_) => {
                    format!("password variable {var} is not valid UTF-8")
                }
            })?;
            check_password(v, &format!("password variable {var}"))
        }
        Credential::PasswordFile(path) => {
            let text = read_bounded(path, MAX_SECRET_FILE_BYTES, "password file")?;
            let first = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches('\r')
                .to_string();
            check_password(first, &format!("password file {}", path.display()))
        }
    }
}

fn check_password(p: String, what: &str) -> Result<AuthSecret, String> {
    if p.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(format!("{what} is longer than {MAX_PASSWORD_BYTES} bytes"));
    }
    Ok(AuthSecret::Password(Secret::new(p)))
}

/// Loads an unencrypted private key file.
pub(crate) fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let text = read_bounded(path, MAX_SECRET_FILE_BYTES, "private key file")?;
    warn_if_readable_by_others(path);
    russh::keys::decode_secret_key(&text, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => format!(
            "private key file {} is encrypted; peerd needs an unencrypted key (protect it with file permissions)",
            path.display()
        ),
        e => format!("private key file {} is not a usable private key: {e}", path.display()),
    })
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "private key file is accessible by group or others (mode {:o})", m.permissions().mode() & 0o777);
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    // Throwaway ed25519 keys generated for these tests only.
    const PLAIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwAAAAJCBHEqvgRxK
rwAAAAtzc2gtZWQyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwA
AAAEA/VmZjELQSEsmt/HY04Wukt0FSkTlvHhTeRKblrZ0fnu9/kk1Fi+zjZMA8GiG0cgzt
Fvf3tUruzCwnBs9szQjAAAAACnBlZXJkLXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
";
    const ENCRYPTED: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABCXozyU/f
eazsPycoBNtQVXAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIAMhAjROauH7Jyh0
HAC4G6vNAANEDlzj0MTKIgmlf0vZAAAAoDWkeM8HWxVVn8rz2O1Y+wRKE82udL5lhbNnKz
I03ZkX7lKAW4SlnvFmdg+V6xrSyd1zVoswofTMnzKB3SWOdo8sdcpKOn1njfucUaTLzNov
ac9KOoKqSUJFKpmhuRlzwL+WFSruVIY5Lk+lyPNng3Y+O2pPSilFHrFoDzMhDpaDWs7AeS
c0te7cJ4QsiVENP+FfVRv7hdZc8AbFq1wizYw=
-----END OPENSSH PRIVATE KEY-----
";

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    #[test]
    fn loads_an_openssh_key() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "id", PLAIN);
        let a = load(&Credential::KeyFile(p)).unwrap();
        let AuthSecret::Key(k) = &a else {
            panic!("not a key")
        };
        assert_eq!(k.algorithm(), russh::keys::Algorithm::Ed25519);
        let dbg = format!("{a:?}");
        assert!(dbg.starts_with("Key(ssh-ed25519 SHA256:"), "{dbg}");
        assert!(!dbg.contains("b3BlbnNz"));
    }

    #[test]
    fn encrypted_missing_and_garbage_keys_are_refused_clearly() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "enc", ENCRYPTED);
        let e = load(&Credential::KeyFile(p)).unwrap_err();
        assert!(e.contains("encrypted") && e.contains("enc"), "{e}");
        let e = load(&Credential::KeyFile(d.path().join("nope"))).unwrap_err();
        assert!(
            e.contains("cannot read private key file") && e.contains("nope"),
            "{e}"
        );
        let p = write(d.path(), "garbage", "not a key\n");
        let e = load(&Credential::KeyFile(p)).unwrap_err();
        assert!(e.contains("not a usable private key"), "{e}");
        let p = write(d.path(), "big", &"A".repeat(70_000));
        let e = load(&Credential::KeyFile(p)).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn password_file_first_line_and_env() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "pw", "s3cret pass\r\nsecond line\n");
        let AuthSecret::Password(pw) = load(&Credential::PasswordFile(p)).unwrap() else {
            panic!("not a password")
        };
        assert_eq!(pw.expose(), "s3cret pass");
        let p = write(d.path(), "empty", "\nx\n");
        let e = load(&Credential::PasswordFile(p)).unwrap_err();
        assert!(e.contains("is empty"), "{e}");

        let var = "PEERD_TEST_SSH_PASSWORD_7F3A";
        let e = load(&Credential::PasswordEnv(var.into())).unwrap_err();
        assert_eq!(e, format!("password variable {var} is not set"));
        std::env::set_var(var, "hunter2");
        let a = load(&Credential::PasswordEnv(var.into())).unwrap();
        std::env::remove_var(var);
        assert!(!format!("{a:?}").contains("hunter2"));
        let AuthSecret::Password(pw) = a else {
            panic!()
        };
        assert_eq!(pw.expose(), "hunter2");
    }
}
