//! How `string.pattern` is evaluated: with the `regex` crate, whose syntax is RE2's (the
//! engine of the runners' Go and of protovalidate) and whose matching takes time linear in the
//! value. A runner reports its own patterns, so each is bounded: its length, its compiled size
//! and the lazy DFA's cache, so that a hostile pattern can neither stall nor swell the server.
//! A pattern the crate refuses (look-around, back-references, syntax errors, too large) is
//! unsupported: a reported schema holding one is refused, and a stored field with one is not
//! checked (`docs/configuration-schema.md`).

use regex::{Regex, RegexBuilder};

/// Longest pattern accepted, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// Most bytes the compiled form of one pattern may take.
const SIZE_LIMIT: usize = 1 << 20;
/// Most bytes of the lazy DFA's cache of one pattern while matching; past it the crate falls
/// back to a slower engine that is still linear in the value.
const DFA_SIZE_LIMIT: usize = 1 << 20;

/// A compiled schema pattern. As in RE2/Go, it matches if it matches anywhere in the value, so
/// anchor both ends (`^…$`) for a full match.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported pattern: {0}")]
pub struct PatternError(pub String);

impl Pattern {
    /// Parses and compiles a pattern.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(PatternError(format!("longer than {MAX_PATTERN_CHARS} characters")));
        }
        RegexBuilder::new(&ascii_classes(pattern))
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|e| PatternError(reason(&e)))
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// RE2 gives `\d \D \w \W \s \S` their ASCII meaning, the regex crate its Unicode one: they
/// become the ASCII classes, which also work inside brackets (the crate nests classes).
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('s') => out.push_str(r"[\t\n\f\r ]"),
            Some('S') => out.push_str(r"[^\t\n\f\r ]"),
            Some(escaped) => {
                out.push('\\');
                out.push(escaped);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The crate's reason in one line, without its echo of the (rewritten) pattern.
fn reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(message) => {
            let last = message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(message);
            last.trim().trim_start_matches("error: ").to_owned()
        }
        regex::Error::CompiledTooBig(limit) => format!("too large once compiled (over {limit} bytes)"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MAX_VALUE_CHARS;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).is_match(text)
    }

    #[test]
    fn pattern_basics() {
        assert!(m("^ami-[0-9a-f]{8,17}$", "ami-0123abcd"));
        assert!(m("^ami-[0-9a-f]{8,17}$", "ami-0123456789abcdef0"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123abc"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123456789abcdef01"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "xami-0123abcd"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123ABCD"));
        // Unanchored patterns match anywhere (RE2/Go semantics).
        assert!(m("b+", "abbc"));
        assert!(!m("b+", "ac"));
        assert!(m("", "anything"));
        assert!(m("^$", ""));
        assert!(!m("^$", "x"));
        // Literals, dot, escapes.
        assert!(m(r"^a\.b$", "a.b"));
        assert!(!m(r"^a\.b$", "axb"));
        assert!(m("^a.b$", "axb"));
        assert!(!m("^a.b$", "a\nb"));
        assert!(m(r"^\d{3}-\w+\s\S$", "123-ab_c x"));
        assert!(!m(r"^\D$", "5"));
        assert!(m(r"^\\\$\^$", "\\$^"));
        assert!(m(r"^\\d$", "\\d"));
        // Classes.
        assert!(m("^[^0-9]+$", "abc"));
        assert!(!m("^[^0-9]+$", "ab1"));
        assert!(m("^[-a]+$", "a-a"));
        assert!(m("^[a-]+$", "-a"));
        assert!(m("^[]a]+$", "]a"));
        assert!(m(r"^[\d.]+$", "1.2"));
        assert!(m(r"^[\]\\]+$", "]\\"));
        assert!(m("^[äöü]$", "ö"));
        // Quantifiers.
        assert!(m("^ab?c$", "ac") && m("^ab?c$", "abc") && !m("^ab?c$", "abbc"));
        assert!(m("^ab*c$", "ac") && m("^ab*c$", "abbbc"));
        assert!(!m("^ab+c$", "ac") && m("^ab+c$", "abbc"));
        assert!(m("^a{3}$", "aaa") && !m("^a{3}$", "aa") && !m("^a{3}$", "aaaa"));
        assert!(m("^a{2,}$", "aaaaa") && !m("^a{2,}$", "a"));
        assert!(m("^a{0,2}$", "") && m("^a{0,2}$", "aa") && !m("^a{0,2}$", "aaa"));
        assert!(m("^a+?$", "aa"));
        // A literal `{` is escaped (the crate, unlike RE2, refuses a bare one: see below).
        assert!(m(r"^a\{x\}$", "a{x}"));
        assert!(m(r"^\{$", "{"));
        // Groups and alternation.
        assert!(m("^(ab|cd)+$", "abcdab") && !m("^(ab|cd)+$", "abc"));
        assert!(m("^(?:x|y|)z$", "z") && m("^(?:x|y|)z$", "yz"));
        assert!(m("^subnet-[0-9a-f]{8}(,subnet-[0-9a-f]{8})*$", "subnet-01234567,subnet-89abcdef"));
        assert!(!m("^subnet-[0-9a-f]{8}(,subnet-[0-9a-f]{8})*$", "subnet-01234567,"));
        assert!(m("^a$|^b$", "b"));
        assert!(m("(^a|b$)", "xb") && !m("(^a|b$)", "xa"));
        assert!(m("^()$", ""));
    }

    #[test]
    fn perl_classes_keep_their_ascii_meaning() {
        // As in RE2/Go: `\d`, `\w`, `\s` are ASCII, inside brackets too.
        assert!(!m(r"^\d$", "٣"));
        assert!(m(r"^\D$", "٣"));
        assert!(!m(r"^\w+$", "héllo"));
        assert!(m(r"^\W$", "é"));
        assert!(!m(r"^\s$", "\u{a0}"));
        assert!(m(r"^\S$", "\u{a0}"));
        assert!(m(r"^[^\d]$", "٣") && !m(r"^[^\d]$", "3"));
        assert!(m(r"^[\w-]+$", "a-b_c") && !m(r"^[\w-]+$", "a.b"));
        // The runner agent's own schema.
        assert!(m(r"^(https?://[^\s]+)?$", "https://x.example/y") && !m(r"^(https?://[^\s]+)?$", "https://a b"));
    }

    #[test]
    fn the_rest_of_re2_syntax_is_evaluated() {
        assert!(m("(?i)^abc$", "ABC") && !m("^abc$", "ABC"));
        assert!(m("^(?P<x>a)$", "a") && m("^(?<x>a)$", "a"));
        assert!(m(r"\bword", "a word") && !m(r"\bword", "sword"));
        assert!(m(r"^\p{L}+$", "äb") && !m(r"^\p{L}+$", "a1"));
        assert!(m("^[[:alpha:]]+$", "ab") && !m("^[[:alpha:]]+$", "a1"));
        assert!(m(r"^[\D]$", "a") && !m(r"^[\D]$", "5"));
        assert!(m("^a{2}{3}$", "aaaaaa") && !m("^a{2}{3}$", "aa"));
        assert!(m("^a{1000}$", &"a".repeat(1000)));
    }

    #[test]
    fn pattern_is_linear() {
        // Exponential for a backtracking matcher; immediate here.
        let p = Pattern::new("^(a*)*(a|aa)*b$").unwrap();
        let text = "a".repeat(MAX_VALUE_CHARS);
        let started = std::time::Instant::now();
        assert!(!p.is_match(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let p = Pattern::new("^(a?){30}a{30}$").unwrap();
        assert!(p.is_match(&"a".repeat(30)));
        assert!(!p.is_match(&"a".repeat(29)));
        // A DFA of 2^20 states: the bounded cache gives up, and the match stays linear.
        let p = Pattern::new("(a|b)*a(a|b){20}$").unwrap();
        let text: String = (0..MAX_VALUE_CHARS).map(|i| if i % 3 == 0 { 'a' } else { 'b' }).collect();
        let started = std::time::Instant::now();
        assert!(!p.is_match(&format!("{text}b{}", "b".repeat(20))));
        assert!(p.is_match(&format!("{text}a{}", "b".repeat(20))));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for bad in [
            "(?=a)", "(?<!a)b", r"(a)\1", "(ab", "ab)", "[ab", "*a", "{2}", "a{3,2}", r"abc\", "[z-a]", r"\Qa.b\E",
            // A `{` that does not start a repetition: RE2 reads it literally, the crate refuses it.
            "^a{x}$", "^{$",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
        assert!(Pattern::new(&"(".repeat(40)).is_err());
        assert!(Pattern::new(&"a".repeat(MAX_PATTERN_CHARS + 1)).is_err());
        assert!(Pattern::new(&"a".repeat(MAX_PATTERN_CHARS)).is_ok());
        // Expanded repetitions are bounded by the compiled size.
        assert_eq!(
            Pattern::new("((a{1000}){1000})").unwrap_err().to_string(),
            "unsupported pattern: too large once compiled (over 1048576 bytes)"
        );
        assert_eq!(
            Pattern::new("(?=a)").unwrap_err().to_string(),
            "unsupported pattern: look-around, including look-ahead and look-behind, is not supported"
        );
    }
}
