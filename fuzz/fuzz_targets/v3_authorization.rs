//! The ACS3 Authorization header parser and canonical request builder.
#![no_main]
use acsemu::protocol::sign_v3;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(auth) = sign_v3::parse_authorization(&text) {
        let headers = vec![("host".to_string(), "h".to_string())];
        let _ = sign_v3::canonical_request("POST", "/", &[], &headers, &auth.signed_headers, sign_v3::EMPTY_SHA256);
    }
    let pairs: Vec<(String, String)> = text.split('&').filter_map(|p| p.split_once('=')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let _ = sign_v3::canonical_query(&pairs);
});
