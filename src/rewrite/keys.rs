//! Choosing tensors by key, for TF1 name-based checkpoints (which have no object graph): a
//! pattern is a key, or a glob when it contains `*` (any run of characters, `/` included) or `?`
//! (one character), as `ckview keys` takes them.

use std::path::Path;

use super::error::{Result, RewriteError};

/// Whether `text` matches the glob `pattern` (`*` and `?`; every other character stands for
/// itself). Linear backtracking on the last `*`, so no pattern is slow.
pub fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether the pattern selects `key`: the key itself, or a glob.
fn selects(pattern: &str, key: &[u8]) -> bool {
    if pattern.contains(['*', '?']) {
        glob_matches(pattern.as_bytes(), key)
    } else {
        pattern.as_bytes() == key
    }
}

/// Which of `keys` (tensor names, no slice keys) a rewrite keeps: those some `select` pattern
/// matches (all when there is none) that no `drop` pattern matches. Every pattern must match a
/// key, so that a typo is an error rather than a silent copy.
pub(crate) fn keep_keys(prefix: &Path, keys: &[Vec<u8>], select: &[String], drop: &[String]) -> Result<Vec<bool>> {
    for pattern in select.iter().chain(drop) {
        if !keys.iter().any(|key| selects(pattern, key)) {
            return Err(RewriteError::NoSuchKey { prefix: prefix.to_path_buf(), pattern: pattern.clone() });
        }
    }
    Ok(keys
        .iter()
        .map(|key| {
            (select.is_empty() || select.iter().any(|pattern| selects(pattern, key))) && !drop.iter().any(|pattern| selects(pattern, key))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs() {
        assert!(glob_matches(b"*/adam_m", b"bert/encoder/layer_0/kernel/adam_m"));
        assert!(!glob_matches(b"*/adam_m", b"bert/encoder/layer_0/kernel/adam_v"));
        assert!(glob_matches(b"a?c*", b"abc"));
        assert!(glob_matches(b"*a*b*", b"xaxxbx"));
        assert!(!glob_matches(b"*a*b", b"xaxxbx"));
        assert!(glob_matches(b"", b""));
        assert!(!glob_matches(b"", b"a"));
    }
}
