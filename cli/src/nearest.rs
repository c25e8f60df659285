//! "Did you mean": the known names closest to a mistyped one.

/// At most this many suggestions.
const MAX_SUGGESTIONS: usize = 3;

/// The candidates nearest to `wanted` by edit distance, closest first, among those close enough
/// to be a typo (a third of the longer text, at least one edit) or that contain `wanted` whole.
pub fn nearest<'c>(wanted: &str, candidates: impl IntoIterator<Item = &'c str>) -> Vec<&'c str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = strsim::levenshtein(wanted, candidate);
            let tolerance = (wanted.chars().count().max(candidate.chars().count()) / 3).max(1);
            let contains = !wanted.is_empty() && candidate.contains(wanted);
            (distance <= tolerance || contains).then_some((distance, candidate))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(MAX_SUGGESTIONS).map(|(_, candidate)| candidate).collect()
}

/// `; did you mean "a" or "b"?`, or nothing when there is no suggestion.
pub fn did_you_mean<'c>(wanted: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    let quoted: Vec<String> = nearest(wanted, candidates).iter().map(|name| format!("{name:?}")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [only] => format!("; did you mean {only}?"),
        [rest @ .., last] => format!("; did you mean {} or {last}?", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let names = ["root.leaf.a_var", "root.leaf.b_var", "root.vars", "root.save_counter"];
        assert_eq!(nearest("root.leaf.a_vra", names), ["root.leaf.a_var", "root.leaf.b_var"]);
        assert_eq!(nearest("save_counter", names), ["root.save_counter"]);
        assert!(nearest("something else", names).is_empty());
        assert_eq!(did_you_mean("root.varz", names), "; did you mean \"root.vars\"?");
        assert_eq!(did_you_mean("zzz", names), "");
    }
}
