//! How `string.pattern` is evaluated.

/// A regular expression of the subset that schema patterns use, matched in time linear in the
/// value's length (a Thompson NFA simulated without backtracking).
///
/// Supported: literals; `.` (any character but newline); classes `[a-z0-9_]`, `[^…]`; the escapes
/// `\d \D \w \W \s \S \n \r \t \f \v` and any escaped ASCII punctuation; groups `(…)` and `(?:…)`;
/// alternation `|`; the quantifiers `* + ? {n} {n,} {n,m}` (counts up to 1000; a lazy `?` suffix
/// is accepted and changes nothing); the anchors `^` and `$` (start and end of the value). As in
/// RE2/Go, a pattern matches if it matches anywhere in the value, so anchor both ends for a full
/// match. Everything else (flags, named groups, look-around, back-references, `\b`, Unicode
/// classes, POSIX classes) is refused by [`Pattern::new`].
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Inst>,
    start: usize,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported pattern: {0}")]
pub struct PatternError(pub String);

const MAX_PATTERN_CHARS: usize = 1000;
const MAX_REPEAT: u64 = 1000;
const MAX_GROUP_DEPTH: usize = 32;
const MAX_PROGRAM: usize = 10_000;

impl Pattern {
    /// Parses and compiles a pattern.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN_CHARS {
            return Err(PatternError(format!("longer than {MAX_PATTERN_CHARS} characters")));
        }
        let mut parser = Parser { chars, pos: 0, depth: 0 };
        let node = parser.alternation()?;
        if parser.pos < parser.chars.len() {
            return Err(PatternError("unmatched )".to_owned()));
        }
        let mut program = vec![Inst::Match];
        let start = compile(&mut program, &node, 0)?;
        Ok(Pattern { program, start })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let n = text.chars().count();
        let mut current: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        // The position at which an instruction was last added: each is added once per position.
        let mut mark = vec![usize::MAX; self.program.len()];
        let mut stack = Vec::new();
        // Every position, with the character there (none at the end).
        for (pos, c) in text.chars().map(Some).chain(std::iter::once(None)).enumerate() {
            self.add(&mut current, &mut mark, &mut stack, self.start, pos, n);
            if current.iter().any(|&pc| matches!(self.program[pc], Inst::Match)) {
                return true;
            }
            let Some(c) = c else { break };
            next.clear();
            for &pc in &current {
                if let Inst::Set(set, to) = &self.program[pc]
                    && set.contains(c)
                {
                    self.add(&mut next, &mut mark, &mut stack, *to, pos + 1, n);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Adds `pc` and everything reachable from it without consuming a character.
    fn add(&self, list: &mut Vec<usize>, mark: &mut [usize], stack: &mut Vec<usize>, pc: usize, pos: usize, n: usize) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if mark[pc] == pos {
                continue;
            }
            mark[pc] = pos;
            match &self.program[pc] {
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Start(to) => {
                    if pos == 0 {
                        stack.push(*to);
                    }
                }
                Inst::End(to) => {
                    if pos == n {
                        stack.push(*to);
                    }
                }
                Inst::Set(..) | Inst::Match => list.push(pc),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CharSet {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl CharSet {
    fn of(ranges: &[(char, char)], negated: bool) -> CharSet {
        CharSet { ranges: ranges.to_vec(), negated }
    }

    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];

#[derive(Debug)]
enum Node {
    Set(CharSet),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

enum Escape {
    Char(char),
    Set(CharSet),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut alternatives = vec![self.concatenation()?];
        while self.eat('|') {
            alternatives.push(self.concatenation()?);
        }
        Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Node::Alt(alternatives) })
    }

    fn concatenation(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    /// `{n}`, `{n,}` or `{n,m}` at `self.pos`: (min, max, position after it).
    fn counted(&self) -> Option<(u64, Option<u64>, usize)> {
        if self.peek() != Some('{') {
            return None;
        }
        let digits = |i: &mut usize| -> Option<u64> {
            let start = *i;
            let mut v: u64 = 0;
            while let Some(d) = self.chars.get(*i).and_then(|c| c.to_digit(10)) {
                v = v.saturating_mul(10).saturating_add(u64::from(d));
                *i += 1;
            }
            (*i > start).then_some(v)
        };
        let mut i = self.pos + 1;
        let min = digits(&mut i)?;
        let max = if self.chars.get(i) == Some(&',') {
            i += 1;
            digits(&mut i)
        } else {
            Some(min)
        };
        (self.chars.get(i) == Some(&'}')).then_some((min, max, i + 1))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => match self.counted() {
                Some((min, max, end)) => {
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
                        return Err(PatternError(format!("repeat count above {MAX_REPEAT}")));
                    }
                    if max.is_some_and(|m| m < min) {
                        return Err(PatternError("repeat range with max < min".to_owned()));
                    }
                    self.pos = end - 1;
                    (min as u32, max.map(|m| m as u32))
                }
                None => return Ok(atom), // a literal `{`, read by the next atom
            },
            _ => return Ok(atom),
        };
        self.pos += 1;
        self.eat('?'); // lazy: matches the same values
        if matches!(self.peek(), Some('*' | '+' | '?')) || self.counted().is_some() {
            return Err(PatternError("nested repetition operator".to_owned()));
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max })
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        if self.counted().is_some() {
            return Err(PatternError("missing argument to repetition operator".to_owned()));
        }
        let c = self.bump().ok_or_else(|| PatternError("unexpected end".to_owned()))?;
        Ok(match c {
            '(' => {
                if self.eat('?') && !self.eat(':') {
                    return Err(PatternError("flags, named groups and look-around are not supported".to_owned()));
                }
                self.depth += 1;
                if self.depth > MAX_GROUP_DEPTH {
                    return Err(PatternError(format!("groups nested deeper than {MAX_GROUP_DEPTH}")));
                }
                let inner = self.alternation()?;
                if !self.eat(')') {
                    return Err(PatternError("missing )".to_owned()));
                }
                self.depth -= 1;
                inner
            }
            '[' => Node::Set(self.class()?),
            '.' => Node::Set(CharSet::of(&[('\n', '\n')], true)),
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => match self.escape(false)? {
                Escape::Char(c) => Node::Set(CharSet::of(&[(c, c)], false)),
                Escape::Set(set) => Node::Set(set),
            },
            '*' | '+' | '?' => return Err(PatternError("missing argument to repetition operator".to_owned())),
            c => Node::Set(CharSet::of(&[(c, c)], false)),
        })
    }

    /// After a `\`.
    fn escape(&mut self, in_class: bool) -> Result<Escape, PatternError> {
        let c = self.bump().ok_or_else(|| PatternError("trailing \\".to_owned()))?;
        let set = |ranges: &[(char, char)], negated: bool| {
            if negated && in_class {
                Err(PatternError(format!("\\{c} inside a class")))
            } else {
                Ok(Escape::Set(CharSet::of(ranges, negated)))
            }
        };
        match c {
            'd' | 'D' => set(DIGIT, c == 'D'),
            'w' | 'W' => set(WORD, c == 'W'),
            's' | 'S' => set(SPACE, c == 'S'),
            'n' => Ok(Escape::Char('\n')),
            'r' => Ok(Escape::Char('\r')),
            't' => Ok(Escape::Char('\t')),
            'f' => Ok(Escape::Char('\x0c')),
            'v' => Ok(Escape::Char('\x0b')),
            c if c.is_ascii_punctuation() => Ok(Escape::Char(c)),
            c => Err(PatternError(format!("escape \\{c}"))),
        }
    }

    /// After a `[`.
    fn class(&mut self) -> Result<CharSet, PatternError> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.bump().ok_or_else(|| PatternError("missing ]".to_owned()))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '\\' => match self.escape(true)? {
                    Escape::Char(c) => c,
                    Escape::Set(set) => {
                        ranges.extend(set.ranges);
                        continue;
                    }
                },
                '[' if self.peek() == Some(':') => {
                    return Err(PatternError("POSIX classes are not supported".to_owned()));
                }
                c => c,
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = match self.bump() {
                    Some('\\') => match self.escape(true)? {
                        Escape::Char(c) => c,
                        Escape::Set(_) => return Err(PatternError("class escape as a range bound".to_owned())),
                    },
                    Some(c) => c,
                    None => return Err(PatternError("missing ]".to_owned())),
                };
                if hi < lo {
                    return Err(PatternError(format!("invalid range {lo}-{hi}")));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(CharSet { ranges, negated })
    }
}

#[derive(Debug, Clone)]
enum Inst {
    /// Consume a character of the set, continue at the index.
    Set(CharSet, usize),
    /// Continue at both.
    Split(usize, usize),
    /// Continue only at the start of the value.
    Start(usize),
    /// Continue only at the end of the value.
    End(usize),
    Match,
}

fn push(program: &mut Vec<Inst>, inst: Inst) -> Result<usize, PatternError> {
    if program.len() >= MAX_PROGRAM {
        return Err(PatternError("too large once repetitions are expanded".to_owned()));
    }
    program.push(inst);
    Ok(program.len() - 1)
}

/// Compiles `node` so that it continues at `next`; returns its entry.
fn compile(program: &mut Vec<Inst>, node: &Node, next: usize) -> Result<usize, PatternError> {
    match node {
        Node::Set(set) => push(program, Inst::Set(set.clone(), next)),
        Node::Start => push(program, Inst::Start(next)),
        Node::End => push(program, Inst::End(next)),
        Node::Concat(items) => {
            let mut entry = next;
            for item in items.iter().rev() {
                entry = compile(program, item, entry)?;
            }
            Ok(entry)
        }
        Node::Alt(alternatives) => {
            let mut entries = Vec::with_capacity(alternatives.len());
            for a in alternatives {
                entries.push(compile(program, a, next)?);
            }
            let mut entry = entries.pop().unwrap_or(next);
            while let Some(e) = entries.pop() {
                entry = push(program, Inst::Split(e, entry))?;
            }
            Ok(entry)
        }
        Node::Repeat { node, min, max } => {
            let mut entry = next;
            match max {
                None => {
                    let lp = push(program, Inst::Split(usize::MAX, next))?;
                    let body = compile(program, node, lp)?;
                    program[lp] = Inst::Split(body, next);
                    entry = lp;
                }
                Some(max) => {
                    for _ in *min..*max {
                        let body = compile(program, node, entry)?;
                        entry = push(program, Inst::Split(body, next))?;
                    }
                }
            }
            for _ in 0..*min {
                entry = compile(program, node, entry)?;
            }
            Ok(entry)
        }
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
        // A `{` that is not a repetition is a literal.
        assert!(m("^a{x}$", "a{x}"));
        assert!(m("^{$", "{"));
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
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for bad in [
            "(?i)abc",
            "(?P<x>a)",
            "(?=a)",
            r"\bword",
            r"(a)\1",
            r"\p{L}",
            "[[:alpha:]]",
            r"[\D]",
            "(ab",
            "ab)",
            "[ab",
            "*a",
            "a**",
            "a{2}{3}",
            "a{1001}",
            "a{3,2}",
            "{2}",
            r"abc\",
            "[z-a]",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
        assert!(Pattern::new(&"(".repeat(40)).is_err());
        assert!(Pattern::new(&"a".repeat(MAX_PATTERN_CHARS + 1)).is_err());
        // Expanded repetitions are bounded too.
        assert!(Pattern::new("((a{1000}){1000})").is_err());
        assert_eq!(Pattern::new("a{2}{3}").unwrap_err().to_string(), "unsupported pattern: nested repetition operator");
    }
}
