//! Both framings: round trips, arbitrary splits, size bounds, malformed
//! input (with proptest), and the fuzz seed corpus.

use super::*;
use proptest::prelude::*;

fn chunked(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("\n#{}\n", p.len()).as_bytes());
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\n##\n");
    out
}

#[test]
fn rfc6242_example_decodes() {
    let wire = b"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n#79\n     xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n  <close-session/>\n</rpc>\n##\n";
    let mut d = FrameDecoder::new(Framing::Chunked, 1024);
    let msgs = d.decode(wire).unwrap();
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].starts_with(b"<rpc message-id=\"102\"\n"));
    assert!(msgs[0].ends_with(b"</rpc>"));
    assert!(d.is_idle());
}

#[test]
fn eom_decodes_and_keeps_rest() {
    let mut d = FrameDecoder::new(Framing::EndOfMessage, 1024);
    assert_eq!(d.decode(b"<a/>]]>]]><b").unwrap(), vec![b"<a/>".to_vec()]);
    assert_eq!(d.decode(b"/>]]").unwrap(), Vec::<Vec<u8>>::new());
    assert_eq!(d.decode(b">]]>").unwrap(), vec![b"<b/>".to_vec()]);
}

#[test]
fn switch_framing_after_hello_keeps_buffered_bytes() {
    let mut d = FrameDecoder::new(Framing::EndOfMessage, 1024);
    let mut wire = b"<hello/>]]>]]>".to_vec();
    wire.extend(chunked(&[b"<rpc-reply/>"]));
    d.push(&wire);
    assert_eq!(d.next_message().unwrap(), Some(b"<hello/>".to_vec()));
    d.set_framing(Framing::Chunked);
    assert_eq!(d.next_message().unwrap(), Some(b"<rpc-reply/>".to_vec()));
    assert_eq!(d.next_message().unwrap(), None);
}

#[test]
fn strict_chunk_grammar() {
    let bad: &[&[u8]] = &[
        b"\n#0\n\n##\n",     // zero size
        b"\n#01\nx\n##\n",   // leading zero
        b"\n##\n",           // end before any chunk
        b"#1\nx\n##\n",      // missing LF
        b"\n1\nx\n##\n",     // missing #
        b"\n#1x\nx\n##\n",   // junk in size
        b"\n#1\nx\n#\n",     // '#' then LF
        b"\n#1\nx\n##x",     // junk after ##
        b"\n#4294967296\n",  // above the maximum
        b"\n#12345678901\n", // 11 digits
        b" \n#1\nx\n##\n",   // leading space
        b"\n#1\nxy\n##\n",   // data longer than announced
        b"\n#-1\nx\n##\n",   // sign
    ];
    for wire in bad {
        let mut d = FrameDecoder::new(Framing::Chunked, usize::MAX);
        let r = d.decode(wire);
        assert!(
            matches!(r, Err(FramingError::BadChunk { .. })),
            "{:?} gave {r:?}",
            String::from_utf8_lossy(wire)
        );
        // Stays failed.
        assert!(matches!(
            d.decode(b"\n#1\nx\n##\n"),
            Err(FramingError::Poisoned(_))
        ));
    }
}

#[test]
fn max_chunk_size_header_is_grammatical() {
    let mut d = FrameDecoder::new(Framing::Chunked, usize::MAX);
    assert_eq!(
        d.decode(b"\n#4294967295\nabc").unwrap(),
        Vec::<Vec<u8>>::new()
    );
    let mut d = FrameDecoder::new(Framing::Chunked, 1000);
    assert!(matches!(
        d.decode(b"\n#4294967295\n"),
        Err(FramingError::Oversize { max: 1000 })
    ));
}

#[test]
fn oversize_is_rejected() {
    let mut d = FrameDecoder::new(Framing::EndOfMessage, 8);
    assert!(d.decode(b"123456789]]>]]>").is_err());
    let mut d = FrameDecoder::new(Framing::EndOfMessage, 8);
    assert_eq!(
        d.decode(b"12345678]]>]]>").unwrap(),
        vec![b"12345678".to_vec()]
    );
    // Without a delimiter the buffer may not grow past the bound.
    let mut d = FrameDecoder::new(Framing::EndOfMessage, 8);
    assert!(d.decode(&[b'x'; 64]).is_err());
    // Chunked: the sum of the chunks counts.
    let mut d = FrameDecoder::new(Framing::Chunked, 8);
    assert!(d.decode(&chunked(&[b"12345", b"6789"])).is_err());
    let mut d = FrameDecoder::new(Framing::Chunked, 8);
    assert_eq!(
        d.decode(&chunked(&[b"1234", b"5678"])).unwrap(),
        vec![b"12345678".to_vec()]
    );
}

#[test]
fn encoders_reject_unframeable_messages() {
    assert_eq!(encode_chunked(b"", 10), Err(FramingError::EmptyMessage));
    assert_eq!(
        encode_eom(b"a]]>]]>b"),
        Err(FramingError::DelimiterInMessage)
    );
    // "x]]>" + "]]>]]>" would end the message early.
    assert_eq!(encode_eom(b"x]]>"), Err(FramingError::DelimiterInMessage));
    assert_eq!(encode_eom(b"x]]").unwrap(), b"x]]]]>]]>".to_vec());
    assert_eq!(
        encode_chunked(b"hello", 2).unwrap(),
        b"\n#2\nhe\n#2\nll\n#1\no\n##\n".to_vec()
    );
}

#[test]
fn fuzz_entry_on_seed_corpus() {
    let mut seeds: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1],
        b"\x01\n#4\n<rpc\n##\n".to_vec(),
        b"\x00<hello/>]]>]]>".to_vec(),
        b"\x07\n#1\nx\n##\n\n#2\nyz\n##\n".to_vec(),
        b"\x01\n#4294967295\n".to_vec(),
        b"\x00]]>]]]]>]]>".to_vec(),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/framing");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                seeds.push(bytes);
            }
        }
    }
    for s in &seeds {
        fuzz_decode(s);
    }
}

/// Feed `wire` to a decoder in pieces cut at `cuts` (sorted offsets).
fn feed_split(
    dec: &mut FrameDecoder,
    wire: &[u8],
    cuts: &[usize],
) -> Result<Vec<Vec<u8>>, FramingError> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.sort_unstable();
    for c in cuts.into_iter().chain(std::iter::once(wire.len())) {
        out.extend(dec.decode(&wire[last..c])?);
        last = c;
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunked_round_trip(
        msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..5),
        chunk in 1usize..64,
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut wire = Vec::new();
        for m in &msgs {
            wire.extend(encode_chunked(m, chunk).unwrap());
        }
        let mut dec = FrameDecoder::new(Framing::Chunked, 300);
        prop_assert_eq!(feed_split(&mut dec, &wire, &cuts).unwrap(), msgs);
        prop_assert!(dec.is_idle());
    }

    #[test]
    fn chunked_round_trip_arbitrary_chunk_sizes(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 1..10),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Chunks of independent, arbitrary sizes (not from our encoder).
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let wire = chunked(&refs);
        let mut dec = FrameDecoder::new(Framing::Chunked, 1 << 20);
        let got = feed_split(&mut dec, &wire, &cuts).unwrap();
        prop_assert_eq!(got, vec![parts.concat()]);
    }

    #[test]
    fn eom_round_trip(
        msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let framed: Vec<(Vec<u8>, Vec<u8>)> = msgs
            .into_iter()
            .filter_map(|m| encode_eom(&m).ok().map(|f| (m, f)))
            .collect();
        let wire: Vec<u8> = framed.iter().flat_map(|(_, f)| f.clone()).collect();
        let expect: Vec<Vec<u8>> = framed.into_iter().map(|(m, _)| m).collect();
        let mut dec = FrameDecoder::new(Framing::EndOfMessage, 300);
        prop_assert_eq!(feed_split(&mut dec, &wire, &cuts).unwrap(), expect);
    }

    #[test]
    fn eom_round_trip_xmlish(
        msgs in prop::collection::vec("[<>/a-z\\] ]{0,200}", 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Bytes from the delimiter's own alphabet exercise partial matches.
        let framed: Vec<(Vec<u8>, Vec<u8>)> = msgs
            .into_iter()
            .filter_map(|m| encode_eom(m.as_bytes()).ok().map(|f| (m.into_bytes(), f)))
            .collect();
        let wire: Vec<u8> = framed.iter().flat_map(|(_, f)| f.clone()).collect();
        let expect: Vec<Vec<u8>> = framed.into_iter().map(|(m, _)| m).collect();
        let mut dec = FrameDecoder::new(Framing::EndOfMessage, 300);
        prop_assert_eq!(feed_split(&mut dec, &wire, &cuts).unwrap(), expect);
    }

    #[test]
    fn garbage_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        max in 0usize..512,
    ) {
        for framing in [Framing::EndOfMessage, Framing::Chunked] {
            let mut dec = FrameDecoder::new(framing, max);
            if let Ok(msgs) = feed_split(&mut dec, &data, &cuts) {
                for m in msgs {
                    prop_assert!(m.len() <= max);
                }
            }
        }
        fuzz_decode(&data);
    }

    #[test]
    fn chunk_headers_with_garbage_never_panic(
        pieces in prop::collection::vec(
            prop_oneof![
                Just(b"\n".to_vec()), Just(b"#".to_vec()), Just(b"##".to_vec()),
                "[0-9]{1,12}".prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..8),
            ],
            0..40),
    ) {
        let wire = pieces.concat();
        let mut dec = FrameDecoder::new(Framing::Chunked, 64);
        if let Ok(msgs) = dec.decode(&wire) {
            for m in msgs {
                prop_assert!(!m.is_empty() && m.len() <= 64);
            }
        }
    }

    #[test]
    fn oversize_always_rejected(
        len in 1usize..2000,
        max in 0usize..1000,
        chunk in 1usize..700,
    ) {
        prop_assume!(len > max);
        let msg = vec![b'x'; len];
        let mut dec = FrameDecoder::new(Framing::Chunked, max);
        let r = dec.decode(&encode_chunked(&msg, chunk).unwrap());
        prop_assert_eq!(r, Err(FramingError::Oversize { max }));
        let mut dec = FrameDecoder::new(Framing::EndOfMessage, max);
        let r = dec.decode(&encode_eom(&msg).unwrap());
        prop_assert_eq!(r, Err(FramingError::Oversize { max }));
    }
}
