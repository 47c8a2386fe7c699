//! XML out (a small writer with escaping) and in (the few request bodies OSS takes).

use quick_xml::events::Event;
use quick_xml::Reader;

use super::error::{OssError, OssResult};

pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not representable in XML 1.0 even escaped; such keys need encoding-type=url.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("&#x{:X};", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A document being written: `open`/`close` tags and `leaf` elements with escaped text.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    #[must_use]
    pub fn new(root: &str) -> Self {
        let mut w = Self {
            out: DECLARATION.to_string(),
        };
        w.open(root);
        w
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.out.push_str(&escape(text));
        self.close(name)
    }

    /// Escaped text inside the element open now.
    pub fn leaf_text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    #[must_use]
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// The `<Error>` document.
#[must_use]
pub fn error(e: &OssError, request_id: &str, host_id: &str) -> String {
    let mut w = Writer::new("Error");
    w.leaf("Code", e.code)
        .leaf("Message", &e.message)
        .leaf("RequestId", request_id)
        .leaf("HostId", host_id);
    for (k, v) in &e.extra {
        w.leaf(k, v);
    }
    w.finish("Error")
}

/// The text of every element whose path from the root is `path` (e.g. `["Delete", "Object",
/// "Key"]`), plus the root's name. Refuses what is not well-formed XML.
pub fn texts(body: &[u8], path: &[&str]) -> OssResult<Vec<String>> {
    let text = std::str::from_utf8(body).map_err(|_| OssError::malformed_xml())?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    let mut saw_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if stack.is_empty() {
                    if saw_root {
                        return Err(OssError::malformed_xml());
                    }
                    saw_root = true;
                }
                stack.push(name);
                if stack.iter().map(String::as_str).eq(path.iter().copied()) {
                    current = Some(String::new());
                }
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if stack.is_empty() {
                    saw_root = true;
                }
                stack.push(name);
                if stack.iter().map(String::as_str).eq(path.iter().copied()) {
                    found.push(String::new());
                }
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                if let Some(c) = current.as_mut() {
                    let s = t.unescape().map_err(|_| OssError::malformed_xml())?;
                    c.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                if stack.iter().map(String::as_str).eq(path.iter().copied()) {
                    if let Some(c) = current.take() {
                        found.push(c);
                    }
                }
                if stack.pop().is_none() {
                    return Err(OssError::malformed_xml());
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(OssError::malformed_xml()),
        }
    }
    if !stack.is_empty() || !saw_root {
        return Err(OssError::malformed_xml());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn delete_body() {
        let body = b"<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c/d</Key></Object></Delete>";
        assert_eq!(
            texts(body, &["Delete", "Object", "Key"]).unwrap(),
            vec!["a&b", "c/d"]
        );
        assert_eq!(texts(body, &["Delete", "Quiet"]).unwrap(), vec!["true"]);
        assert!(texts(b"<Delete><Object>", &["Delete"]).is_err());
        assert!(texts(b"", &["Delete"]).is_err());
        assert!(texts(b"\xff\xfe", &["Delete"]).is_err());
    }

    #[test]
    fn writer_escapes() {
        let mut w = Writer::new("R");
        w.leaf("K", "a<b>&\"'");
        assert_eq!(
            w.finish("R"),
            format!("{DECLARATION}<R><K>a&lt;b&gt;&amp;&quot;&apos;</K></R>")
        );
    }
}
