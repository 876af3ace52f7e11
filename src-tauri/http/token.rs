//! The console's own API token: 32 random bytes (base64url), created on first use in the data
//! dir (`api-token`, readable by the owner only). The one secret the CLI prints in clear
//! (`handoff-console token`): it is the user's own key to their console.

use crate::error::AppError;
use base64::Engine;
use std::path::Path;

const FILE: &str = "api-token";

/// The token, created (atomically, owner-only) when there is none yet.
pub fn load_or_create(data_dir: &Path) -> Result<String, AppError> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) if valid(t.trim()) => return Ok(t.trim().to_string()),
        Ok(_) => {
            return Err(AppError::new(
                crate::ErrorKind::Unavailable,
                format!(
                    "{} is not a token this console made; delete it to make a new one",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(AppError::new(
                crate::ErrorKind::Unavailable,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let unavailable = |e: std::io::Error| {
        AppError::new(
            crate::ErrorKind::Unavailable,
            format!("cannot create {}: {e}", path.display()),
        )
    };
    std::fs::create_dir_all(data_dir).map_err(unavailable)?;
    let tmp = data_dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(unavailable)?;
        file.write_all(token.as_bytes()).map_err(unavailable)?;
        file.sync_all().map_err(unavailable)?;
    }
    // Two first runs at once: the first link wins and both use its token.
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
        Err(e) => Err(unavailable(e)),
    }
}

fn valid(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Compares in time independent of where the strings differ.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_made_once_private_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert!(valid(&first));
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_or_create(other.path()).unwrap(), first);
    }

    #[test]
    fn a_damaged_token_file_is_an_error_not_a_new_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "short").unwrap();
        let e = load_or_create(dir.path()).unwrap_err();
        assert!(e.message.contains("delete it"), "{e}");
    }

    #[test]
    fn matching_needs_the_whole_token() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("abc", "ab"));
        assert!(!matches("abc", ""));
    }
}
