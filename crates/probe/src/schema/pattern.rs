//! A string generator for the simple regular expressions API schemas use (`^[0-9]{9}[0-9X]$`,
//! `^-?[0-9]+(\.[0-9]{1,2})?$`): literals, escapes, character classes, groups, alternation and
//! counted quantifiers. Anything else (look-around, back-references, negated classes) gives
//! `None` and the caller falls back to other heuristics. Optional parts (`?`, `*`) are left
//! out, because they are usually signs, suffixes or fractions a plain value does not need.

/// A deterministic pseudo-random source, seeded per sample so that values differ across samples.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// splitmix64: good enough spread for test data, with no dependency.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        usize::try_from(self.next() % bound as u64).unwrap_or(0)
    }
}

/// Generates a string that should match `pattern`; the caller checks it with the `regex` crate.
pub(crate) fn generate(pattern: &str, rng: &mut Rng) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut parser = Parser {
        chars,
        position: 0,
        rng,
    };
    let out = parser.alternation()?;
    (parser.position == parser.chars.len()).then_some(out)
}

struct Parser<'a> {
    chars: Vec<char>,
    position: usize,
    rng: &'a mut Rng,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    /// Generates the first alternative and skips the others (syntax-checked only loosely).
    fn alternation(&mut self) -> Option<String> {
        let first = self.sequence()?;
        while self.peek() == Some('|') {
            self.position += 1;
            let mut discard = Rng::new(0);
            std::mem::swap(self.rng, &mut discard);
            let skipped = self.sequence();
            std::mem::swap(self.rng, &mut discard);
            skipped?;
        }
        Some(first)
    }

    fn sequence(&mut self) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let start = self.position;
            let atom = self.atom()?;
            let count = self.quantifier()?;
            if count == 0 {
                continue;
            }
            out.push_str(&atom);
            for _ in 1..count {
                // Regenerate so that repeated classes vary ([0-9]{9} is not nine equal digits).
                let end = self.position;
                self.position = start;
                out.push_str(&self.atom()?);
                self.position = end;
            }
        }
        Some(out)
    }

    fn atom(&mut self) -> Option<String> {
        let c = self.peek()?;
        self.position += 1;
        match c {
            '^' | '$' => Some(String::new()),
            '.' => Some("a".to_string()),
            '\\' => {
                let escaped = self.peek()?;
                self.position += 1;
                let set: &[char] = match escaped {
                    'd' => &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
                    'w' => &['a', 'b', 'c', 'x', 'y', 'z', '0', '7'],
                    's' => &[' '],
                    'D' | 'W' | 'S' | 'b' | 'B' | '1'..='9' => return None,
                    other => return Some(other.to_string()),
                };
                Some(set[self.rng.below(set.len())].to_string())
            }
            '[' => self.class(),
            '(' => {
                if self.peek() == Some('?') {
                    if self.chars.get(self.position + 1) == Some(&':') {
                        self.position += 2;
                    } else {
                        return None;
                    }
                }
                let inner = self.alternation()?;
                (self.peek() == Some(')')).then_some(())?;
                self.position += 1;
                Some(inner)
            }
            '*' | '+' | '?' | '{' | ')' | '|' => None,
            literal => Some(literal.to_string()),
        }
    }

    fn class(&mut self) -> Option<String> {
        if self.peek() == Some('^') {
            return None;
        }
        let mut members = Vec::new();
        loop {
            let c = self.peek()?;
            self.position += 1;
            match c {
                ']' if !members.is_empty() => break,
                '\\' => {
                    let escaped = self.peek()?;
                    self.position += 1;
                    match escaped {
                        'd' => members.extend('0'..='9'),
                        'w' => members.extend('a'..='z'),
                        's' => members.push(' '),
                        other => members.push(other),
                    }
                }
                start => {
                    if self.peek() == Some('-') && self.chars.get(self.position + 1) != Some(&']') {
                        let end = *self.chars.get(self.position + 1)?;
                        self.position += 2;
                        members.extend(start..=end);
                    } else {
                        members.push(start);
                    }
                }
            }
        }
        let chosen = members.get(self.rng.below(members.len()))?;
        Some(chosen.to_string())
    }

    /// How many times to generate the atom: the minimum, so optional parts (`?`, `*`,
    /// `{0,n}`) are left out (see module docs).
    fn quantifier(&mut self) -> Option<usize> {
        match self.peek() {
            Some('?') | Some('*') => {
                self.position += 1;
                self.skip_lazy();
                Some(0)
            }
            Some('+') => {
                self.position += 1;
                self.skip_lazy();
                Some(1)
            }
            Some('{') => {
                let close = self.chars[self.position..].iter().position(|&c| c == '}')?;
                let body: String = self.chars[self.position + 1..self.position + close]
                    .iter()
                    .collect();
                self.position += close + 1;
                self.skip_lazy();
                body.split(',').next()?.trim().parse().ok()
            }
            _ => Some(1),
        }
    }

    fn skip_lazy(&mut self) {
        if self.peek() == Some('?') {
            self.position += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_strings_match_their_patterns() {
        let patterns = [
            "^[0-9]{9}[0-9X]$|^[0-9]{13}$",
            r"^-?[0-9]+(\.[0-9]{1,2})?$",
            r"^[A-Z]{3}-\d{4}$",
            "^(?:red|green)$",
            r"^[a-z0-9_-]{3,16}$",
        ];
        for pattern in patterns {
            let regex = regex::Regex::new(pattern).unwrap();
            for seed in 0..20 {
                let value = generate(pattern, &mut Rng::new(seed)).unwrap();
                assert!(regex.is_match(&value), "{pattern} vs {value}");
            }
        }
    }

    #[test]
    fn unsupported_patterns_give_none() {
        assert_eq!(generate("^(?=a)b$", &mut Rng::new(1)), None);
        assert_eq!(generate("^[^a]$", &mut Rng::new(1)), None);
    }
}
