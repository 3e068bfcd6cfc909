//! `ZWARM_SSH_COMMAND` into words, as a POSIX shell splits a simple command
//! (what git does with `GIT_SSH_COMMAND`), without running a shell: blanks
//! separate words, single quotes keep everything, double quotes keep all
//! but `\"`, `\\`, `\$` and `` \` ``, a backslash outside quotes keeps the
//! next character. Expansions (`$VAR`, `~`) are not made.

pub(crate) fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("it ends with a backslash".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_a_shell_would() {
        let s = |l: &str| split(l).unwrap();
        assert_eq!(s("ssh -i key -p 22"), ["ssh", "-i", "key", "-p", "22"]);
        assert_eq!(s("  ssh\t'-o' \"A=b c\"  "), ["ssh", "-o", "A=b c"]);
        assert_eq!(
            s(r#"ssh -i 'my key' -o "x=\"q\"" a\ b"#),
            ["ssh", "-i", "my key", "-o", "x=\"q\"", "a b"]
        );
        assert_eq!(s("ssh ''"), ["ssh", ""]);
        assert_eq!(s("ssh $HOME"), ["ssh", "$HOME"]);
        assert!(split("ssh 'open").is_err());
        assert!(split("ssh \"open").is_err());
        assert!(split("ssh \\").is_err());
    }
}
