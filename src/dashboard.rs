//! The dashboard at `/_acsemu/` (issue 10): server-rendered HTML, no script, no build step.
//! What the account holds (users, groups, roles with their trust and attached policies,
//! policies with their documents, instances with their roles, live STS sessions with the time
//! left on the virtual clock, buckets) and the recent requests with, for a refusal, the message
//! that names the deciding rule. Behind the control endpoints' guard (control.rs).
//!
//! Every value from the state goes through `esc`: names, documents and request details are
//! whatever callers sent.

use std::fmt::Write as _;

use rusqlite::Transaction;

use crate::clock::{iso, iso_unix};
use crate::products::ram::policies::{CUSTOM, SYSTEM};
use crate::protocol::ApiResult;
use crate::recent::Record;
use crate::server::AppState;
use crate::store::{self, policies::PolicyRow};

/// The views, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Policies,
    Requests,
}

impl View {
    #[must_use]
    pub fn of_path(path: &str) -> Option<Self> {
        match path.trim_end_matches('/') {
            "/_acsemu" => Some(Self::Overview),
            "/_acsemu/policies" => Some(Self::Policies),
            "/_acsemu/requests" => Some(Self::Requests),
            _ => None,
        }
    }
}

/// How many requests the overview shows; the requests view shows them all.
const OVERVIEW_REQUESTS: usize = 15;

/// HTML-escapes text for element content and quoted attribute values.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A policy document, indented when it is JSON.
fn pretty(doc: &str) -> String {
    serde_json::from_str::<serde_json::Value>(doc)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| doc.to_string())
}

/// `59m 30s`, `2h 05m`, `12s`.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2733;background:#f4f6f9}
header{background:#1f3a5f;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:20px;margin:0}header .clock{opacity:.9}
nav a{color:#fff;margin-right:16px;text-decoration:none;border-bottom:2px solid transparent}
nav a.on{border-color:#ffb000}
main{padding:8px 24px 32px}
section{background:#fff;border:1px solid #d8dee6;border-radius:6px;margin:16px 0;padding:8px 16px 12px}
h2{font-size:16px;margin:8px 0}h2 small{color:#667;font-weight:normal}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #eceff3}
th{font-size:12px;text-transform:uppercase;color:#556;letter-spacing:.03em}
pre{margin:0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;background:#f6f8fa;padding:6px;border-radius:4px;max-width:640px}
code{font:12px ui-monospace,Menlo,Consolas,monospace}
.tag{display:inline-block;background:#e8eef7;border-radius:3px;padding:0 6px;margin:1px 2px;font-size:12px}
.sys{background:#eef3e6}.ok{color:#17803d}.bad{color:#b42318;font-weight:600}
.muted{color:#778}.empty{color:#889;font-style:italic}
.counts span{margin-right:18px}
";

/// The whole page of one view.
pub fn page(state: &AppState, view: View) -> ApiResult<String> {
    let now = state.clock.now();
    let now_unix = state.clock.now_unix();
    let mut body = String::new();
    state.store.transaction(false, |tx| {
        match view {
            View::Overview => overview(state, tx, now_unix, &mut body)?,
            View::Policies => policies(tx, &mut body)?,
            View::Requests => {}
        }
        Ok(())
    })?;
    let records = state.recent.snapshot();
    match view {
        View::Overview => requests(&records, Some(OVERVIEW_REQUESTS), &mut body),
        View::Requests => requests(&records, None, &mut body),
        View::Policies => {}
    }
    let tab = |v: View, href: &str, label: &str| {
        format!(
            "<a href=\"{href}\"{}>{label}</a>",
            if v == view { " class=\"on\"" } else { "" }
        )
    };
    let offset = state.clock.offset();
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>acsemu dashboard</title><style>{STYLE}</style></head><body>\
<header><h1>acsemu</h1><span>account {account}</span>\
<span class=\"clock\">virtual clock {clock}{ahead}</span>\
<nav>{t1}{t2}{t3}</nav></header><main>{body}</main></body></html>\n",
        account = esc(&state.config.account_id),
        clock = esc(&iso(now)),
        ahead = if offset == 0 {
            String::new()
        } else {
            format!(" ({} ahead)", duration(offset))
        },
        t1 = tab(View::Overview, "/_acsemu/", "Overview"),
        t2 = tab(View::Policies, "/_acsemu/policies", "Policies"),
        t3 = tab(View::Requests, "/_acsemu/requests", "Requests"),
    ))
}

fn section_start(out: &mut String, title: &str, count: usize, head: &[&str]) {
    let _ = write!(
        out,
        "<section id=\"{}\"><h2>{} <small>{count}</small></h2>",
        esc(&title.to_ascii_lowercase().replace(' ', "-")),
        esc(title)
    );
    if count > 0 {
        out.push_str("<table><tr>");
        for h in head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr>");
    }
}

fn section_end(out: &mut String, count: usize, empty: &str) {
    if count > 0 {
        out.push_str("</table>");
    } else {
        let _ = write!(out, "<p class=\"empty\">{}</p>", esc(empty));
    }
    out.push_str("</section>");
}

fn tags<I: IntoIterator<Item = String>>(items: I) -> String {
    let s: String = items
        .into_iter()
        .map(|t| format!("<span class=\"tag\">{}</span>", esc(&t)))
        .collect();
    if s.is_empty() {
        "<span class=\"muted\">none</span>".to_string()
    } else {
        s
    }
}

fn attached(tx: &Transaction<'_>, principal_type: &str, id: &str) -> ApiResult<String> {
    let rows = store::policies::list_for_principal(tx, principal_type, id)?;
    let s: String = rows
        .iter()
        .map(|(p, _)| {
            format!(
                "<span class=\"tag{}\" title=\"{}\">{}</span>",
                if p.policy_type == SYSTEM { " sys" } else { "" },
                esc(&p.policy_type),
                esc(&p.policy_name)
            )
        })
        .collect();
    Ok(if s.is_empty() {
        "<span class=\"muted\">none</span>".to_string()
    } else {
        s
    })
}

fn overview(state: &AppState, tx: &Transaction<'_>, now: i64, out: &mut String) -> ApiResult<()> {
    let all = usize::MAX;
    let users = store::principals::list_users(tx, None, all)?;
    let groups = store::principals::list_groups(tx, None, all)?;
    let roles = store::roles::list(tx, None, all)?;
    let instances = store::instances::list_all(tx)?;
    let sessions = store::sts::list_live(tx, now)?;
    let buckets = store::oss::list_buckets(tx, &state.config.account_id, "", "", all)?;
    let _ = write!(
        out,
        "<p class=\"counts\"><span>{} users</span><span>{} groups</span><span>{} roles</span>\
<span>{} instances</span><span>{} live sessions</span><span>{} buckets</span></p>",
        users.len(),
        groups.len(),
        roles.len(),
        instances.len(),
        sessions.len(),
        buckets.len()
    );

    section_start(
        out,
        "Users",
        users.len(),
        &["User", "AccessKeys", "Groups", "Attached policies"],
    );
    for u in &users {
        let keys = store::keys::list_for_user(tx, &u.user_id)?
            .into_iter()
            .map(|k| format!("{} ({})", k.access_key_id, k.status));
        let member_of = store::principals::groups_for_user(tx, &u.user_id)?
            .into_iter()
            .map(|(g, _)| g.group_name);
        let _ = write!(
            out,
            "<tr><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.user_name),
            if u.display_name.is_empty() {
                String::new()
            } else {
                format!("<br><span class=\"muted\">{}</span>", esc(&u.display_name))
            },
            tags(keys),
            tags(member_of),
            attached(tx, "User", &u.user_id)?
        );
    }
    section_end(out, users.len(), "No RAM users.");

    section_start(
        out,
        "Groups",
        groups.len(),
        &["Group", "Members", "Attached policies"],
    );
    for g in &groups {
        let members = store::principals::users_for_group(tx, &g.group_id, None, all)?
            .into_iter()
            .map(|(u, _)| u.user_name);
        let _ = write!(
            out,
            "<tr><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
            esc(&g.group_name),
            tags(members),
            attached(tx, "Group", &g.group_id)?
        );
    }
    section_end(out, groups.len(), "No RAM groups.");

    section_start(
        out,
        "Roles",
        roles.len(),
        &["Role", "Trust policy", "Attached policies"],
    );
    for r in &roles {
        let _ = write!(
            out,
            "<tr><td><b>{}</b><br><span class=\"muted\">max session {}</span>{}</td>\
<td><pre>{}</pre></td><td>{}</td></tr>",
            esc(&r.role_name),
            duration(r.max_session_duration),
            if r.description.is_empty() {
                String::new()
            } else {
                format!("<br>{}", esc(&r.description))
            },
            esc(&pretty(&r.assume_role_policy_document)),
            attached(tx, "Role", &r.role_id)?
        );
    }
    section_end(out, roles.len(), "No RAM roles.");

    section_start(
        out,
        "Instances",
        instances.len(),
        &[
            "Instance",
            "Region / zone",
            "Status",
            "Private IP",
            "RAM role",
        ],
    );
    for i in &instances {
        let _ = write!(
            out,
            "<tr><td><code>{}</code><br><span class=\"muted\">{}</span></td><td>{} / {}</td>\
<td class=\"{}\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&i.instance_id),
            esc(&i.instance_name),
            esc(&i.region_id),
            esc(&i.zone_id),
            if i.status == "Running" { "ok" } else { "muted" },
            esc(&i.status),
            esc(&i.private_ip),
            i.ram_role_name.as_deref().map_or_else(
                || "<span class=\"muted\">none</span>".to_string(),
                |r| format!("<span class=\"tag\">{}</span>", esc(r))
            )
        );
    }
    section_end(out, instances.len(), "No ECS instances.");

    section_start(
        out,
        "Live STS sessions",
        sessions.len(),
        &[
            "AccessKeyId",
            "Role / session",
            "Issued to",
            "Expires",
            "Time left",
        ],
    );
    for s in &sessions {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{} / {}</td><td>{}<br><span class=\"muted\">{}</span></td>\
<td>{}</td><td><b>{}</b></td></tr>",
            esc(&s.access_key_id),
            esc(&s.role_name),
            esc(&s.session_name),
            esc(&s.source),
            esc(&s.source_arn),
            esc(&iso_unix(s.expiration)),
            duration(s.expiration - now)
        );
    }
    section_end(out, sessions.len(), "No live STS sessions.");

    section_start(
        out,
        "Buckets",
        buckets.len(),
        &["Bucket", "Location", "Storage class / ACL", "Objects"],
    );
    for b in &buckets {
        let (mut n, mut bytes, mut first) = (0u64, 0u64, Vec::new());
        store::oss::walk(tx, &b.name, "", "", |m| {
            n += 1;
            bytes += m.size;
            if first.len() < 5 {
                first.push(m.key);
            }
            true
        })?;
        let _ = write!(
            out,
            "<tr><td><b>{}</b></td><td>{}</td><td>{} / {}</td><td>{n} ({bytes} bytes) {}</td></tr>",
            esc(&b.name),
            esc(&b.location),
            esc(&b.storage_class),
            esc(&b.acl),
            if n == 0 { String::new() } else { tags(first) }
        );
    }
    section_end(out, buckets.len(), "No OSS buckets.");
    Ok(())
}

fn policies(tx: &Transaction<'_>, out: &mut String) -> ApiResult<()> {
    let rows = store::policies::list_policies(tx, None, None, usize::MAX)?;
    let (custom, system): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|(p, _)| p.policy_type == CUSTOM);
    for (title, list) in [("Custom policies", custom), ("System policies", system)] {
        section_start(
            out,
            title,
            list.len(),
            &["Policy", "Default version", "Attached to", "Document"],
        );
        for (p, _) in &list {
            policy_row(tx, p, out)?;
        }
        section_end(out, list.len(), "None.");
    }
    Ok(())
}

fn policy_row(tx: &Transaction<'_>, p: &PolicyRow, out: &mut String) -> ApiResult<()> {
    let doc = store::policies::get_version(tx, &p.policy_type, &p.policy_name, &p.default_version)?
        .map(|v| v.document)
        .unwrap_or_default();
    let mut to = Vec::new();
    for (kind, id, _) in store::policies::attachments_of(tx, &p.policy_type, &p.policy_name)? {
        let name = match kind.as_str() {
            "User" => store::principals::get_user_by_id(tx, &id)?.map(|u| u.user_name),
            "Group" => store::principals::get_group_by_id(tx, &id)?.map(|g| g.group_name),
            _ => store::roles::get_by_id(tx, &id)?.map(|r| r.role_name),
        };
        to.push(format!("{kind} {}", name.unwrap_or(id)));
    }
    let _ = write!(
        out,
        "<tr><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
        esc(&p.policy_name),
        if p.description.is_empty() {
            String::new()
        } else {
            format!("<br><span class=\"muted\">{}</span>", esc(&p.description))
        },
        esc(&p.default_version),
        tags(to),
        esc(&pretty(&doc))
    );
    Ok(())
}

fn requests(records: &[Record], limit: Option<usize>, out: &mut String) {
    let shown: Vec<&Record> = records.iter().take(limit.unwrap_or(usize::MAX)).collect();
    let title = if limit.is_some() {
        "Recent requests"
    } else {
        "Requests"
    };
    section_start(
        out,
        title,
        records.len(),
        &["Time (wall clock)", "Caller", "Action", "Status", "Why"],
    );
    for r in shown {
        let ok = r.status < 400;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{} <b>{}</b></td><td class=\"{}\">{} {}</td><td>{}</td></tr>",
            esc(&r.time),
            esc(&r.caller),
            esc(&r.product),
            esc(&r.action),
            if ok { "ok" } else { "bad" },
            r.status,
            esc(&r.code),
            esc(&r.detail)
        );
    }
    section_end(out, records.len(), "No requests yet.");
    if let Some(n) = limit {
        if records.len() > n {
            let _ = write!(
                out,
                "<p><a href=\"/_acsemu/requests\">All {} requests</a></p>",
                records.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_needs() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(12), "12s");
        assert_eq!(duration(3599), "59m 59s");
        assert_eq!(duration(7500), "2h 05m");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn views() {
        assert_eq!(View::of_path("/_acsemu"), Some(View::Overview));
        assert_eq!(View::of_path("/_acsemu/"), Some(View::Overview));
        assert_eq!(View::of_path("/_acsemu/requests"), Some(View::Requests));
        assert_eq!(View::of_path("/_acsemu/health"), None);
    }
}
