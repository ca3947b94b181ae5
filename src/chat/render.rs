//! Rendering messages for surfaces: plain text (console, logs) and Telegram-style HTML,
//! with escaping of every string and splitting of long messages on line boundaries.

use super::message::{Block, Message, ProgressView, StepState};

/// A message as plain text.
pub fn plain(message: &Message) -> String {
    let mut out = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(s) | Block::Text(s) | Block::Pre(s) => out.push(s.clone()),
            Block::Table { header, rows } => out.push(table(header, rows)),
        }
    }
    out.join("\n")
}

/// A message as HTML (Telegram's subset): headings bold, tables and logs in `<pre>`.
pub fn html(message: &Message) -> String {
    let mut out = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(s) => out.push(format!("<b>{}</b>", escape_html(s))),
            Block::Text(s) => out.push(escape_html(s)),
            Block::Pre(s) => out.push(format!("<pre>{}</pre>", escape_html(s))),
            Block::Table { header, rows } => {
                out.push(format!("<pre>{}</pre>", escape_html(&table(header, rows))))
            }
        }
    }
    out.join("\n")
}

/// A message as HTML in chunks of at most `limit` characters, split between blocks and
/// on line boundaries, so that every chunk is well-formed on its own (a long table is
/// cut into several `<pre>` blocks, never inside a tag).
pub fn html_chunks(message: &Message, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(s) => pieces.extend(
                split(s, limit.saturating_sub(7).max(1))
                    .iter()
                    .map(|p| format!("<b>{}</b>", escape_html(p))),
            ),
            Block::Text(s) => pieces.extend(escaped_lines(s, limit)),
            Block::Pre(s) => pieces.extend(pre_chunks(s, limit)),
            Block::Table { header, rows } => pieces.extend(pre_chunks(&table(header, rows), limit)),
        }
    }
    pack(pieces, limit)
}

/// Plain text escaped, split so that each escaped piece fits.
fn escaped_lines(s: &str, limit: usize) -> Vec<String> {
    // Escaping at most quintuples a character (`&amp;`), so a fifth of the limit is safe.
    let mut out = Vec::new();
    for chunk in split(s, limit) {
        let escaped = escape_html(&chunk);
        if escaped.chars().count() <= limit {
            out.push(escaped);
        } else {
            out.extend(
                split(&chunk, (limit / 5).max(1))
                    .iter()
                    .map(|c| escape_html(c)),
            );
        }
    }
    out
}

/// Preformatted text in `<pre>` blocks that each fit.
fn pre_chunks(s: &str, limit: usize) -> Vec<String> {
    let inner = limit.saturating_sub(11).max(1);
    let mut out = Vec::new();
    for chunk in split(s, inner) {
        let escaped = escape_html(&chunk);
        if escaped.chars().count() <= inner {
            out.push(format!("<pre>{escaped}</pre>"));
        } else {
            out.extend(
                split(&chunk, (inner / 5).max(1))
                    .iter()
                    .map(|c| format!("<pre>{}</pre>", escape_html(c))),
            );
        }
    }
    out
}

/// Joins pieces with line ends into as few chunks of at most `limit` as possible.
pub(super) fn pack(pieces: Vec<String>, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let len = current.chars().count();
        if !current.is_empty() && len + 1 + piece.chars().count() > limit {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&piece);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Escapes the three characters HTML parse mode treats specially.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with columns padded to their widest cell.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            if i + 1 == cols {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut lines = vec![line(header)];
    lines.extend(rows.iter().map(|r| line(r)));
    lines.join("\n")
}

/// The mark shown for a step's state.
pub fn step_mark(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "·",
        StepState::Running => "…",
        StepState::Done => "✓",
        StepState::Skipped => "✓",
        StepState::Failed => "✗",
    }
}

/// A progress view as a compact step list, one line per step.
pub fn progress_lines(view: &ProgressView) -> Vec<String> {
    let total = view.steps.len();
    let mut lines = vec![format!("{} ({})", view.title, secs(view.elapsed))];
    for (i, step) in view.steps.iter().enumerate() {
        lines.push(step_line(i, total, step));
    }
    lines
}

/// One step's line: `✓ 4/11 Create the server (1.2s) — server 17`.
pub fn step_line(i: usize, total: usize, step: &super::ProgressStep) -> String {
    let mut s = format!(
        "{} {}/{} {}",
        step_mark(step.state),
        i + 1,
        total,
        step.title
    );
    if step.state == StepState::Skipped {
        s.push_str(" (already done)");
    } else if let Some(e) = step.elapsed {
        s.push_str(&format!(" ({})", secs(e)));
    }
    if let Some(note) = &step.note {
        s.push_str(" — ");
        s.push_str(note);
    }
    s
}

/// A duration as seconds with one decimal.
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Splits text into chunks of at most `limit` characters, on line boundaries where
/// possible (a single longer line is cut).
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let mut line = line.to_string();
        while line.chars().count() > limit {
            let cut: String = line.chars().take(limit).collect();
            line = line.chars().skip(limit).collect();
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            chunks.push(cut);
        }
        let needed =
            current.chars().count() + line.chars().count() + usize::from(!current.is_empty());
        if needed > limit && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_user_supplied() {
        let m = Message::text("<b>x</b> & y").table(&["name"], vec![vec!["<i>".into()]]);
        let h = html(&m);
        assert!(h.contains("&lt;b&gt;x&lt;/b&gt; &amp; y"));
        assert!(h.contains("<pre>name\n&lt;i&gt;</pre>"));
    }

    #[test]
    fn split_respects_lines_and_limit() {
        let text = (0..100)
            .map(|i| format!("line {i:03} {}", "x".repeat(40)))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = split(&text, 500);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= 500));
        assert_eq!(parts.join("\n"), text);
        assert_eq!(split(&"y".repeat(12), 5), vec!["yyyyy", "yyyyy", "yy"]);
    }

    #[test]
    fn long_tables_split_into_well_formed_chunks() {
        let rows: Vec<Vec<String>> = (0..200)
            .map(|i| vec![format!("bot-{i}"), "<&>".repeat(10)])
            .collect();
        let m = Message::text("fleet <all>").table(&["name", "x"], rows);
        let chunks = html_chunks(&m, 4096);
        assert!(chunks.len() >= 2);
        for c in &chunks {
            assert!(c.chars().count() <= 4096);
            assert_eq!(c.matches("<pre>").count(), c.matches("</pre>").count());
        }
        assert!(chunks[0].starts_with("fleet &lt;all&gt;\n<pre>name"));
    }

    #[test]
    fn tables_pad_columns() {
        let t = table(
            &["a".into(), "bb".into()],
            &[vec!["ccc".into(), "d".into()]],
        );
        assert_eq!(t, "a    bb\nccc  d");
    }
}
