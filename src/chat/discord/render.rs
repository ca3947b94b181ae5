//! Messages as Discord shows them: markdown with every plain string escaped, tables and
//! logs in code blocks, content split at 2,000 characters on line boundaries, and a
//! message that starts with a heading (status, health, briefings) as an embed when it
//! fits an embed's limits. Pure functions over `chat::Message`: no serenity type here.

use crate::chat::message::{Block, Message, ProgressView};
use crate::chat::render::{pack, progress_lines, split, table};

/// Discord's limit on a message's content.
pub const MAX_CONTENT: usize = 2000;
/// An embed's title.
pub const MAX_TITLE: usize = 256;
/// An embed's description.
pub const MAX_DESCRIPTION: usize = 4096;

/// One message to send: text content, or an embed.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Content(String),
    Embed { title: String, description: String },
}

/// `message` as the parts to send, in order: one embed when it starts with a heading and
/// fits, else content chunks of at most 2,000 characters.
pub fn parts(message: &Message) -> Vec<Part> {
    if let Some(Block::Heading(title)) = message.blocks.first() {
        let rest = Message {
            blocks: message.blocks[1..].to_vec(),
        };
        let description = chunks(&rest, MAX_DESCRIPTION);
        let title_fits = title.chars().count() <= MAX_TITLE && !title.trim().is_empty();
        if title_fits && description.len() == 1 {
            return vec![Part::Embed {
                title: title.clone(),
                description: description.into_iter().next().unwrap_or_default(),
            }];
        }
    }
    chunks(message, MAX_CONTENT)
        .into_iter()
        .map(Part::Content)
        .collect()
}

/// A message as markdown in chunks of at most `limit` characters, each well-formed on its
/// own (a long table becomes several code blocks, never one cut open).
pub fn chunks(message: &Message, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(s) => pieces.extend(
                escaped_lines(s, limit.saturating_sub(4).max(1))
                    .into_iter()
                    .map(|p| format!("**{p}**")),
            ),
            Block::Text(s) => pieces.extend(escaped_lines(s, limit)),
            Block::Pre(s) => pieces.extend(code_blocks(s, limit)),
            Block::Table { header, rows } => {
                pieces.extend(code_blocks(&table(header, rows), limit))
            }
        }
    }
    let mut out = pack(pieces, limit);
    out.retain(|c| !c.is_empty());
    if out.is_empty() {
        // Discord refuses an empty message; say so rather than send nothing.
        out.push("(nothing to show)".into());
    }
    out
}

/// A progress view as markdown: the title in bold, then one line per step.
pub fn progress(view: &ProgressView) -> String {
    let lines = progress_lines(view);
    let mut out = format!("**{}**", escape_markdown(&lines[0]));
    for line in &lines[1..] {
        out.push('\n');
        out.push_str(&escape_markdown(line));
    }
    split(&out, MAX_CONTENT)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Plain text escaped, split so that each escaped piece fits (escaping at most doubles).
fn escaped_lines(s: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in split(s, limit) {
        let escaped = escape_markdown(&chunk);
        if escaped.chars().count() <= limit {
            out.push(escaped);
        } else {
            out.extend(
                split(&chunk, (limit / 2).max(1))
                    .iter()
                    .map(|c| escape_markdown(c)),
            );
        }
    }
    out
}

/// Preformatted text in code blocks that each fit; a ``` inside cannot close the block.
fn code_blocks(s: &str, limit: usize) -> Vec<String> {
    let inner = limit.saturating_sub(8).max(1);
    let safe = s.replace("```", "`\u{200b}``");
    split(&safe, inner)
        .into_iter()
        .map(|c| format!("```\n{c}\n```"))
        .collect()
}

/// Escapes what Discord's markdown reads: emphasis, code, spoilers, links, mentions, and
/// headings, quotes and lists at the start of a line. Mentions are also never parsed
/// (`allowed_mentions` is empty on every message), so `@everyone` pings nobody.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut line_start = true;
    for c in s.chars() {
        let special = matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<')
            || (line_start && matches!(c, '>' | '#' | '-' | '+'));
        if special {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// `text` cut to at most `max` characters at a word boundary, never mid-word (a single
/// word longer than `max` is the only thing cut, with `…`).
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut out = String::new();
    for word in text.split_whitespace() {
        let next = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if next > budget {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(budget).collect();
    }
    let trimmed = out.trim_end_matches([',', ';', ':', '.', ' ']).to_string();
    format!("{trimmed}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_in_plain_text_is_shown_not_read() {
        assert_eq!(escape_markdown("a*b_c`d"), "a\\*b\\_c\\`d");
        assert_eq!(escape_markdown("# not a heading"), "\\# not a heading");
        assert_eq!(escape_markdown("x - y"), "x - y");
        assert_eq!(escape_markdown("- item\n> quote"), "\\- item\n\\> quote");
        assert_eq!(
            escape_markdown("<@123> ||spoiler||"),
            "\\<@123> \\|\\|spoiler\\|\\|"
        );
    }

    #[test]
    fn a_long_reply_is_split_at_line_ends_within_2000() {
        let text = (0..250)
            .map(|i| format!("line {i} of the reply"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.len() > 2500);
        let parts = parts(&Message::text(text.clone()));
        assert!(parts.len() >= 3, "{}", parts.len());
        let mut joined = Vec::new();
        for p in &parts {
            let Part::Content(c) = p else { panic!("{p:?}") };
            assert!(c.chars().count() <= MAX_CONTENT);
            joined.push(c.clone());
        }
        assert_eq!(joined.join("\n"), text);
    }

    #[test]
    fn a_heading_message_that_fits_is_an_embed_and_one_that_does_not_is_content() {
        let m = Message::default().heading("alice-bot").table(
            &["field", "value"],
            vec![vec!["state".into(), "ready".into()]],
        );
        let p = parts(&m);
        assert_eq!(p.len(), 1);
        let Part::Embed { title, description } = &p[0] else {
            panic!("{p:?}")
        };
        assert_eq!(title, "alice-bot");
        assert!(description.starts_with("```\n") && description.ends_with("\n```"));
        let long = Message::default().heading("logs").pre("x\n".repeat(3000));
        assert!(
            parts(&long)
                .iter()
                .all(|p| matches!(p, Part::Content(c) if c.chars().count() <= MAX_CONTENT))
        );
    }

    #[test]
    fn a_code_block_cannot_be_closed_from_inside() {
        let c = chunks(&Message::default().pre("a```b"), MAX_CONTENT);
        assert_eq!(c[0].matches("```").count(), 2, "{}", c[0]);
    }

    #[test]
    fn shortening_never_cuts_a_word() {
        assert_eq!(shorten("short", 100), "short");
        let s = shorten(
            "Deploy a new instance on a cloud provider or on a host you already have",
            40,
        );
        assert!(s.chars().count() <= 40, "{s}");
        assert_eq!(s, "Deploy a new instance on a cloud…");
        assert_eq!(shorten("abcdefghij", 5), "abcd…");
    }
}
