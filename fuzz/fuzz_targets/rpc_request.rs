//! The RPC request parser and the signature-claim reader on arbitrary query, body and headers.
#![no_main]
use acsemu::auth::verify;
use acsemu::protocol::request::RpcRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let query = parts.next().unwrap_or_default().to_string();
    let body = parts.next().unwrap_or_default().as_bytes().to_vec();
    let header = parts.next().unwrap_or_default().to_string();
    let headers = vec![
        ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
        ("authorization".to_string(), header),
    ];
    if let Ok(req) = RpcRequest::parse("POST", "/", &query, headers, body) {
        if let Ok(claim) = verify::claim(&req) {
            let _ = verify::check_signature(&req, &claim, "secret");
        }
    }
});
