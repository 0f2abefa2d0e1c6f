//! The HTML summary of a scan: one self-contained file (inline style, no script, no pictures)
//! that an investigator opens in any browser, attaches to a case, or prints.
//!
//! It shows counts, then the unknown files (for review first), the known ones with the bank,
//! category and distance of their closest match, and the unreadable ones with the reason.
//! Never an image: the report travels, and nobody should see material by opening it.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::scan_command::{FileView, Summary};

pub fn write_html(
    out: &mut impl Write,
    (summary, files): (Summary, Vec<FileView>),
) -> io::Result<()> {
    let mut html = String::new();
    html.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>Vigie scan report</title>\n<style>\n",
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d232b}\n",
        "table{border-collapse:collapse;width:100%;margin-bottom:2rem;font-size:.9rem}\n",
        "th,td{border:1px solid #c9d1d9;padding:.3rem .5rem;text-align:left;vertical-align:top}\n",
        "th{background:#eef1f4}\ncode{font-size:.8rem;word-break:break-all}\n",
        ".counts td{font-size:1.1rem}\n",
        "</style>\n</head>\n<body>\n<h1>Vigie scan report</h1>\n",
    ));
    let _ = writeln!(
        html,
        "<table class=\"counts\"><tr><th>Files</th><th>Unknown</th><th>Known</th><th>Unreadable</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        summary.files, summary.unknown, summary.known, summary.unreadable
    );
    for (status, title) in [
        ("unknown", "Unknown files (review first)"),
        ("known", "Known files"),
        ("unreadable", "Unreadable files"),
    ] {
        let rows: Vec<&FileView> = files.iter().filter(|f| f.status == status).collect();
        let _ = writeln!(html, "<h2 id=\"{status}\">{title}: {}</h2>", rows.len());
        if rows.is_empty() {
            continue;
        }
        html.push_str("<table><tr><th>Path</th>");
        if status == "known" {
            html.push_str("<th>Bank</th><th>Category</th><th>Entry</th><th>Match</th>");
        }
        html.push_str("<th>MD5</th><th>PDQ</th><th>Note</th></tr>\n");
        for file in rows {
            let _ = write!(html, "<tr><td><code>{}</code></td>", escape(file.path));
            if status == "known" {
                let matched = match (file.signal_type, file.distance) {
                    (Some("pdq"), Some(distance)) => format!("PDQ, distance {distance}"),
                    (Some(kind), _) => format!("{} (exact)", kind.to_uppercase()),
                    _ => String::new(),
                };
                let _ = write!(
                    html,
                    "<td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>",
                    escape(file.bank.unwrap_or("")),
                    escape(file.category.unwrap_or("")),
                    escape(file.label.unwrap_or("")),
                    escape(&matched)
                );
            }
            let _ = writeln!(
                html,
                "<td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                escape(file.md5.unwrap_or("")),
                escape(file.pdq.unwrap_or("")),
                escape(file.error.unwrap_or(""))
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body>\n</html>\n");
    out.write_all(html.as_bytes())
}

/// Escapes text for HTML element content and attribute values: paths on a seized disk are
/// hostile input too.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_escaped() {
        assert_eq!(
            escape("<img src=x onerror='a'>&"),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
        );
    }
}
