//! The console's own files are its user's alone: folders it makes are 0700 and files it
//! writes 0600 (Unix; elsewhere the OS's defaults apply). The store, its WAL, settings,
//! exports, logs and uploaded history copies all hold patients' data or describe where it goes.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Folders the console makes (the data dir, exports, uploads, logs).
pub const DIR_MODE: u32 = 0o700;
/// Files the console writes.
pub const FILE_MODE: u32 = 0o600;

/// Makes `dir` (and its missing parents) readable by its owner only; an existing folder is
/// left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Makes `dir` as [`create_private_dir`] does and tightens an existing one that others can
/// reach to [`DIR_MODE`]: for folders that are the console's own (exports, uploads).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    create_private_dir(dir)?;
    tighten_dir(dir)
}

/// Tightens `dir` to [`DIR_MODE`] when others can reach it. A shared folder (the sticky bit,
/// like `/tmp`) is refused rather than tightened: closing it would break everyone else's use
/// of it. A folder this user cannot change (someone else's) is left with a warning: the
/// files in it are private all the same.
pub fn tighten_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(());
        }
        if mode & 0o1000 != 0 {
            return Err(io::Error::other(format!(
                "{} is a shared folder (the sticky bit, like /tmp): give the console a folder \
                 of its own",
                dir.display()
            )));
        }
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)) {
            tracing::warn!(
                "{} is open to other users (mode {mode:o}) and could not be tightened: {e}",
                dir.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Options that create a file with [`FILE_MODE`] (a file that exists keeps its mode: see
/// [`tighten`]).
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates (or truncates) `path` for writing, readable by its owner only.
pub fn create_private(path: &Path) -> io::Result<File> {
    let file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    tighten_open(&file)?;
    Ok(file)
}

/// Writes `bytes` to a new (or truncated) file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_private(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Takes group and other permissions off an open file (an existing file keeps its mode when
/// opened): its owner's stay as they are.
pub fn tighten_open(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Takes group and other permissions off `path` when it exists, by its path (without opening
/// it: see [`check_writable`]).
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether this user may write `path` (`NotFound` when it does not exist), asked of the OS
/// without opening the file: closing a descriptor of a file drops every lock the process holds
/// on it (POSIX), SQLite's included.
pub fn check_writable(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // The effective user's permissions (AT_EACCESS), as opening the file would check them.
        // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
        if unsafe {
            libc::faccessat(
                libc::AT_FDCWD,
                c_path.as_ptr(),
                libc::W_OK,
                libc::AT_EACCESS,
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let m = std::fs::metadata(path)?;
        if m.permissions().readonly() {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only"));
        }
        Ok(())
    }
}

/// Sets `path`'s mode to [`FILE_MODE`] when it exists and has another one (a file the console
/// owns and must be able to write, such as the store's `-wal` and `-shm`).
pub fn repair(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if mode != FILE_MODE {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_folder_and_its_missing_parents_are_private_and_an_open_one_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);

        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn a_shared_sticky_folder_is_refused_and_left_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = tighten_dir(&shared).unwrap_err().to_string();
        assert!(err.contains("shared folder"), "{err}");
        assert_eq!(mode(&shared), 0o1777);
    }

    #[test]
    fn written_files_are_private_even_when_they_existed_with_wider_modes() {
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("new");
        write_private(&new, b"x").unwrap();
        assert_eq!(mode(&new), 0o600);

        let old = root.path().join("old");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&old, b"y").unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"y");
    }

    #[test]
    fn repair_makes_a_read_only_leftover_writable_by_its_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let wal = root.path().join("x-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o444)).unwrap();
        repair(&wal).unwrap();
        assert_eq!(mode(&wal), 0o600);
        repair(&root.path().join("absent")).unwrap();
    }
}
