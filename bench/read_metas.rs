//! The floor for `zwarm list`: the least any program can do to know what the
//! sessions say, which is to read every `sessions/*/meta.json` once. It lists
//! the folder, reads each file into one reused buffer, parses nothing, and
//! prints the count and bytes so the work cannot be optimised away.
//!
//! Built by bench/run.sh with plain `rustc -O` (no dependencies).

use std::io::Read;

fn main() {
    let state = std::env::args().nth(1).expect("usage: read_metas STATE_DIR");
    let sessions = std::path::Path::new(&state).join("sessions");
    let mut buf = Vec::with_capacity(64 * 1024);
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in std::fs::read_dir(&sessions).expect("read the sessions folder") {
        let path = entry.expect("a folder entry").path().join("meta.json");
        let Ok(mut f) = std::fs::File::open(&path) else {
            continue;
        };
        buf.clear();
        bytes += f.read_to_end(&mut buf).expect("read meta.json") as u64;
        files += 1;
    }
    println!("{files} files, {bytes} bytes");
}
