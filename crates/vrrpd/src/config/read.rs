//! Reading a configuration file safely: regular files only, size capped,
//! UTF-8 errors with their position.

use std::io::Read as _;
use std::path::Path;

use super::diag::{ConfigError, LineIndex};

/// The largest configuration file read (16 MiB: about 100,000 instances).
/// A bigger one is refused rather than read until memory runs out.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Why a file could not be read at all (as opposed to read and found wrong).
#[derive(Debug)]
pub(crate) struct Unreadable(pub(crate) ConfigError);

/// Reads `path` as UTF-8 text. Refuses what is not a regular file (a FIFO
/// would block, `/dev/zero` never ends) and files over
/// [`MAX_CONFIG_BYTES`]; invalid UTF-8 is reported at its line and column.
pub(crate) fn read_config(path: &Path, file: &str) -> Result<String, Unreadable> {
    let fail = |message: String| Unreadable(ConfigError::single(file, 1, 1, message));
    // Open without blocking on a FIFO, then look at what was opened (no
    // race between a check of the path and the open).
    let f = open_nonblocking(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let meta = f
        .metadata()
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!(
            "not a regular file ({}): a configuration is read from a regular file only",
            kind_of(&meta)
        )));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(fail(too_big(meta.len())));
    }
    let mut bytes = Vec::new();
    // The file may grow after the check: never read past the cap.
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(fail(too_big(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The valid prefix is text: position the bad byte within it.
        let prefix = std::str::from_utf8(bytes.get(..good).unwrap_or_default()).unwrap_or("");
        let (line, column) = LineIndex::new(prefix).position(good);
        Unreadable(ConfigError::single(
            file,
            line,
            column,
            format!(
                "the file is not UTF-8 text: invalid byte 0x{:02x} (save it as UTF-8)",
                bytes.get(good).copied().unwrap_or(0)
            ),
        ))
    })
}

fn too_big(len: u64) -> String {
    format!("the file is {len} bytes or more; a configuration is at most {MAX_CONFIG_BYTES} bytes")
}

fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_files_are_refused_without_reading_them() {
        let e = read_config(Path::new("/dev/zero"), "z").unwrap_err().0;
        assert!(e.diagnostics[0].message.contains("character device"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_reported_where_it_is() {
        let dir = std::env::temp_dir().join(format!("vrrpd-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let p = dir.join("bad.toml");
        std::fs::write(&p, b"a = 1\nbc = \"\xff\"\n").ok();
        let e = read_config(&p, "bad.toml").unwrap_err().0;
        assert_eq!(
            (e.diagnostics[0].line, e.diagnostics[0].column),
            (2, 7),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
