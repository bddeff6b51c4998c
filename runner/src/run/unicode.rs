//! What untrusted text may not carry: characters that change what a reader (a person,
//! or an AI reviewer) sees without showing. Collect removes them from what the agent
//! wrote; a follow-up round from what reviewers and CI wrote.

/// Bidi controls, zero-width characters, the soft hyphen, tag characters.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}
