//! The `peerd` command line: parses arguments and calls into the library.

fn main() {}
