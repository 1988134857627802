//! Reads the hex test vectors of docs/PROTOCOL.md: fenced blocks "```<fence> NAME" of hex bytes, `#` starting a
//! comment.
#![allow(dead_code)]

use std::collections::HashMap;

/// The blocks fenced with `fence` (e.g. "hex", "sealed-hex"), by name.
pub fn blocks(fence: &str) -> HashMap<String, Vec<u8>> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/PROTOCOL.md"))
        .expect("docs/PROTOCOL.md");
    let prefix = format!("```{fence} ");
    let mut out = HashMap::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix(prefix.as_str()) else { continue };
        let mut bytes = Vec::new();
        for l in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            for tok in l.split('#').next().unwrap_or("").split_whitespace() {
                bytes.push(
                    u8::from_str_radix(tok, 16).unwrap_or_else(|_| panic!("bad hex {tok:?} in {name}")),
                );
            }
        }
        out.insert(name.trim().to_owned(), bytes);
    }
    out
}

/// Bytes as spaced hex, for comparisons that show where they differ.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}
