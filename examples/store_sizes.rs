//! Prints what a sled store holds, per tree: entries, key and value
//! bytes, bytes per entry and the largest value; then the files on disk
//! and how long the open took. Run it on a copy of a store, never on one
//! a peerd runs on (sled locks its directory anyway):
//!
//! ```text
//! cargo run --release --example store_sizes -- /tmp/copy-of/data
//! ```

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: store_sizes <store dir>");
    let t = std::time::Instant::now();
    let db = sled::Config::new()
        .path(&dir)
        .cache_capacity(64 << 20)
        .open()
        .expect("open");
    println!("opened in {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    println!(
        "{:<16} {:>9} {:>12} {:>12} {:>8} {:>8}",
        "tree", "entries", "key bytes", "value bytes", "B/entry", "max val"
    );
    let (mut all_k, mut all_v) = (0u64, 0u64);
    for name in db.tree_names() {
        let tree = db.open_tree(&name).expect("tree");
        let (mut n, mut k, mut v, mut max) = (0u64, 0u64, 0u64, 0usize);
        for item in tree.iter() {
            let (key, val) = item.expect("read");
            n += 1;
            k += key.len() as u64;
            v += val.len() as u64;
            max = max.max(val.len());
        }
        all_k += k;
        all_v += v;
        let per = (k + v).checked_div(n).unwrap_or(0);
        println!(
            "{:<16} {:>9} {:>12} {:>12} {:>8} {:>8}",
            String::from_utf8_lossy(&name),
            n,
            k,
            v,
            per,
            max
        );
    }
    println!("total: keys {all_k} B, values {all_v} B");
    for e in std::fs::read_dir(&dir).expect("dir").flatten() {
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        println!("  {:<30} {:>12}", e.file_name().to_string_lossy(), len);
    }
}
