//! Reading the small files SSH needs (private keys, password files,
//! known_hosts), bounded.

use std::io::Read;
use std::path::Path;

/// Reads at most `max` bytes of a text file; `what` names it in errors.
pub(crate) fn read_bounded(path: &Path, max: u64, what: &str) -> Result<String, String> {
    let f = std::fs::File::open(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if buf.len() as u64 > max {
        return Err(format!(
            "{what} {} is larger than {max} bytes",
            path.display()
        ));
    }
    String::from_utf8(buf).map_err(|_| format!("{what} {} is not UTF-8 text", path.display()))
}
