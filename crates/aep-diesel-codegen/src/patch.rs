//! Applying print-schema's `patch_file`: a unified diff (`diff -u`, `git diff`) onto the generated
//! schema module.

/// One `@@ -a,b +c,d @@` hunk: the lines it expects (context and removed) and what replaces them.
struct Hunk {
    header: String,
    old_start: usize,
    old: Vec<String>,
    new: Vec<String>,
}

/// The start and length of one side of a hunk header (`-7,8` or `+7`).
fn range(side: Option<&str>, sign: char) -> Option<(usize, usize)> {
    let r = side?.strip_prefix(sign)?;
    let mut parts = r.splitn(2, ',');
    let start = parts.next()?.parse().ok()?;
    let len = match parts.next() {
        Some(n) => n.parse().ok()?,
        None => 1,
    };
    Some((start, len))
}

fn parse(patch: &str) -> Result<Vec<Hunk>, String> {
    let mut hunks: Vec<Hunk> = Vec::new();
    // lines still to read in the current hunk: (old side, new side)
    let mut left = (0usize, 0usize);
    for line in patch.lines() {
        if left == (0, 0) {
            // between hunks: file names, `diff`/`index` lines, or the next header; a change line
            // right after a hunk is one its header did not count, never silently dropped
            let file_name = line.starts_with("--- ") || line.starts_with("+++ ");
            if !file_name && (line.starts_with('+') || line.starts_with('-')) {
                if let Some(h) = hunks.last() {
                    return Err(format!(
                        "hunk `{}` holds more lines than its header says",
                        h.header
                    ));
                }
            }
            if let Some(rest) = line.strip_prefix("@@ ") {
                let mut sides = rest.split(' ');
                let (old, new) = range(sides.next(), '-')
                    .zip(range(sides.next(), '+'))
                    .ok_or_else(|| format!("`{line}` is not a unified diff hunk header"))?;
                hunks.push(Hunk {
                    header: line.to_string(),
                    old_start: old.0,
                    old: Vec::new(),
                    new: Vec::new(),
                });
                left = (old.1, new.1);
            }
            continue;
        }
        let h = hunks.last_mut().expect("inside a hunk");
        let take = |n: &mut usize| -> Result<(), String> {
            *n = n.checked_sub(1).ok_or_else(|| {
                format!("hunk `{}` holds more lines than its header says", h.header)
            })?;
            Ok(())
        };
        match line.chars().next() {
            // an empty line is an empty context line (editors strip the lone space)
            None | Some(' ') => {
                let text = line.get(1..).unwrap_or("").to_string();
                take(&mut left.0)?;
                take(&mut left.1)?;
                h.old.push(text.clone());
                h.new.push(text);
            }
            Some('-') => {
                take(&mut left.0)?;
                h.old.push(line[1..].to_string());
            }
            Some('+') => {
                take(&mut left.1)?;
                h.new.push(line[1..].to_string());
            }
            // "\ No newline at end of file"
            Some('\\') => {}
            Some(_) => {
                return Err(format!(
                    "the line `{line}` in hunk `{}` is neither context, removal nor addition",
                    h.header
                ));
            }
        }
    }
    if left != (0, 0) {
        return Err("ends inside a hunk: a line is missing".into());
    }
    if hunks.is_empty() {
        return Err("holds no hunk (no `@@ -a,b +c,d @@` line)".into());
    }
    Ok(hunks)
}

/// `text` with `patch` applied. Each hunk goes where its lines are, nearest to where its header
/// says (the generated file may have a few lines more or fewer above it than diesel's); a hunk whose
/// lines are nowhere is an error naming it.
pub(crate) fn apply(text: &str, patch: &str) -> Result<String, String> {
    let hunks = parse(patch)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // where the next hunk may start: hunks apply in order and never overlap
    let mut floor = 0usize;
    let mut shift: isize = 0;
    for h in hunks {
        // Context lines at either end, which `patch` may drop ("fuzz", up to 2) when the file
        // around the change differs a little (e.g. diesel's blank line before a macro aep-diesel
        // does not write).
        let common =
            |a: &mut dyn Iterator<Item = (&String, &String)>| a.take_while(|(x, y)| x == y).count();
        let lead = common(&mut h.old.iter().zip(&h.new));
        let trail = common(&mut h.old.iter().rev().zip(h.new.iter().rev()));
        let mut found = None;
        for fuzz in 0..=2usize {
            let (l, t) = (fuzz.min(lead), fuzz.min(trail));
            // fuzz never strips every line the hunk expects: a hunk must match something
            if l + t > h.old.len().min(h.new.len()) || (!h.old.is_empty() && l + t >= h.old.len()) {
                break;
            }
            let old = &h.old[l..h.old.len() - t];
            let fits = |at: usize| {
                at >= floor
                    && at + old.len() <= lines.len()
                    && lines[at..at + old.len()]
                        .iter()
                        .zip(old)
                        .all(|(a, b)| a.trim_end() == b.trim_end())
            };
            // `-N,0` inserts after line N; otherwise the hunk starts at line N
            let start = if h.old.is_empty() {
                h.old_start
            } else {
                h.old_start.saturating_sub(1)
            };
            let wanted = (start as isize + shift + l as isize).max(0) as usize;
            if let Some(at) = (0..=lines.len().max(wanted))
                .flat_map(|d| [wanted.checked_add(d), wanted.checked_sub(d)])
                .flatten()
                .find(|&at| fits(at))
            {
                found = Some((at, l, t));
                break;
            }
        }
        let (at, l, t) = found.ok_or_else(|| {
            format!(
                "hunk `{}` does not apply: the lines it changes are not in the generated schema",
                h.header
            )
        })?;
        let old_len = h.old.len() - l - t;
        let new: Vec<String> = h.new[l..h.new.len() - t].to_vec();
        let n_new = new.len();
        shift += n_new as isize - old_len as isize;
        lines.splice(at..at + old_len, new);
        floor = at + n_new;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::apply;

    const TEXT: &str = "a\nb\nc\nd\ne\nf\n";

    #[test]
    fn applies_at_an_offset_and_in_order() {
        let patch =
            "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10,2 +10,3 @@\n e\n+E\n f\n";
        assert_eq!(apply(TEXT, patch).unwrap(), "a\nB\nc\nd\ne\nE\nf\n");
        // the file has two lines more above: the hunk still finds its place
        assert_eq!(
            apply(&format!("x\ny\n{TEXT}"), "@@ -2,2 +2,1 @@\n c\n-d\n").unwrap(),
            "x\ny\na\nb\nc\ne\nf\n"
        );
    }

    #[test]
    fn a_hunk_that_does_not_fit_is_an_error_naming_it() {
        let e = apply(TEXT, "@@ -2,2 +2,2 @@\n b\n-x\n+y\n").unwrap_err();
        assert!(e.contains("@@ -2,2 +2,2 @@"), "{e}");
        assert!(
            apply(TEXT, "not a patch\n")
                .unwrap_err()
                .contains("no hunk")
        );
        // a trailing context line the file lacks is fuzz; a changed line never is
        assert_eq!(
            apply(TEXT, "@@ -5,3 +5,3 @@\n e\n-f\n+F\n zzz\n").unwrap(),
            "a\nb\nc\nd\ne\nF\n"
        );
        assert!(apply(TEXT, "@@ -5,2 +5,2 @@\n e\n-g\n+F\n").is_err());
        // an addition whose context is nowhere does not land by fuzz alone
        assert!(apply(TEXT, "@@ -2,2 +2,3 @@\n zzz\n+X\n yyy\n").is_err());
        // -N,0 adds after line N
        assert_eq!(
            apply(TEXT, "@@ -2,0 +3,1 @@\n+X\n").unwrap(),
            "a\nb\nX\nc\nd\ne\nf\n"
        );
        // a change line the header did not count is an error, not dropped
        let e = apply(TEXT, "@@ -1,2 +1,2 @@\n a\n-b\n+B\n+C\n").unwrap_err();
        assert!(e.contains("more lines than its header"), "{e}");
        let e = apply(TEXT, "@@ -1,1 +1,1 @@\n*a\n").unwrap_err();
        assert!(e.contains("neither"), "{e}");
    }
}
