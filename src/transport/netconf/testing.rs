//! Test support: a scripted NETCONF server over an in-memory duplex stream.

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::framing::{encode_chunked, encode_eom, FrameDecoder, Framing};
use super::BASE_NS;

async fn read_one(io: &mut DuplexStream, dec: &mut FrameDecoder) -> Option<String> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(m) = dec.next_message().unwrap() {
            return Some(String::from_utf8(m).unwrap());
        }
        let n = io.read(&mut buf).await.unwrap();
        if n == 0 {
            return None;
        }
        dec.push(&buf[..n]);
    }
}

/// An `<rpc-reply>` with this message-id and body.
pub fn reply(id: &str, body: &str) -> String {
    format!(r#"<rpc-reply message-id="{id}" xmlns="{BASE_NS}">{body}</rpc-reply>"#)
}

/// An `<rpc-error>` of severity error.
pub fn rpc_error(tag: &str, message: &str) -> String {
    format!(
        "<rpc-error><error-type>application</error-type><error-tag>{tag}</error-tag>\
         <error-severity>error</error-severity><error-message>{message}</error-message></rpc-error>"
    )
}

/// A scripted server: reads the client hello, answers with `caps` and
/// session-id 5, then sends `answers[i]` (zero or more messages) for the
/// i-th request, in `framing`. Returns every message it read (hello first).
pub async fn script(
    io: DuplexStream,
    caps: &[&str],
    framing: Framing,
    answers: Vec<Vec<String>>,
) -> Vec<String> {
    script_observed(io, caps, framing, answers, |_| {}).await
}

/// [`script`], calling `seen` with each request (hello excluded) before it
/// is answered.
pub async fn script_observed(
    mut io: DuplexStream,
    caps: &[&str],
    framing: Framing,
    answers: Vec<Vec<String>>,
    mut seen_hook: impl FnMut(&str),
) -> Vec<String> {
    let mut dec = FrameDecoder::new(Framing::EndOfMessage, 1 << 20);
    let mut seen = vec![read_one(&mut io, &mut dec).await.unwrap()];
    let caps: String = caps
        .iter()
        .map(|c| format!("<capability>{c}</capability>"))
        .collect();
    let hello = format!(
        r#"<hello xmlns="{BASE_NS}"><capabilities>{caps}</capabilities><session-id>5</session-id></hello>"#
    );
    io.write_all(&encode_eom(hello.as_bytes()).unwrap())
        .await
        .unwrap();
    dec.set_framing(framing);
    for msgs in answers {
        match read_one(&mut io, &mut dec).await {
            Some(m) => {
                seen_hook(&m);
                seen.push(m)
            }
            None => return seen,
        }
        for m in msgs {
            let framed = match framing {
                Framing::Chunked => encode_chunked(m.as_bytes(), 7).unwrap(),
                Framing::EndOfMessage => encode_eom(m.as_bytes()).unwrap(),
            };
            io.write_all(&framed).await.unwrap();
        }
    }
    // Keep the stream open until the client goes away.
    while read_one(&mut io, &mut dec).await.is_some() {}
    seen
}
