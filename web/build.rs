//! Minifies the console's stylesheet into `OUT_DIR` (comments and layout whitespace dropped):
//! the CSS ships inside the WebAssembly, and its comments are for the people editing it, not for
//! every reader's download (−0.7 KB gzipped). Plain std, so the crate keeps no build dependency.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/view/style.css";
    println!("cargo::rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("read the stylesheet");
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("style.min.css");
    fs::write(out, minify(&css)).expect("write the minified stylesheet");
}

/// Drops `/* … */` comments, collapses whitespace, and removes it around `{ } ; , :` where CSS
/// never needs it (a space before `:` is kept: in a selector, `a :hover` differs from `a:hover`).
/// Quoted strings are copied as they are.
fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                space = true;
            }
            '"' | '\'' => {
                if space && !out.is_empty() && !out.ends_with(['{', '}', ';', ',', ':']) {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => space = true,
            '{' | '}' | ';' | ',' => {
                out.push(c);
                space = false;
            }
            c => {
                let glued = out.is_empty() || out.ends_with(['{', '}', ';', ',', ':']);
                if space && !glued {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        // Whitespace before these is never needed either.
        if matches!(chars.peek(), Some('{' | '}' | ';' | ',')) {
            space = false;
        }
    }
    out
}
