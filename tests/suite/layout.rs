//! The layout of `tests/`: one test binary (`tests/all.rs`), and every
//! file of `suite/` and `support/` part of it. A file that is not declared
//! in its folder's `mod.rs` would be compiled by nobody and its tests never
//! run; a declaration without its file does not compile, but is named here
//! all the same.

use crate::support::agents::target_tempdir;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The names of the `.rs` files in `dir`, without the extension.
fn rust_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The modules `mod.rs` declares (`mod name;`, `pub mod name;`), read from
/// its text; inline modules (`mod name { .. }`) have no file.
fn declared(mod_rs: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(mod_rs)
        .unwrap_or_else(|e| panic!("read {}: {e}", mod_rs.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter_map(|l| l.strip_prefix("pub ").or(Some(l)))
        .filter_map(|l| l.strip_prefix("mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(|name| name.trim().to_string())
        .collect()
}

/// Every file of `folder` is a module its `mod.rs` declares, and the other
/// way round.
#[track_caller]
fn assert_all_declared(folder: &str) {
    let dir = tests_dir().join(folder);
    let mut files = rust_files(&dir);
    assert!(files.remove("mod"), "{folder}/ has no mod.rs");
    let mods = declared(&dir.join("mod.rs"));
    let forgotten: Vec<&String> = files.difference(&mods).collect();
    let missing: Vec<&String> = mods.difference(&files).collect();
    assert!(
        forgotten.is_empty(),
        "files in tests/{folder}/ that tests/{folder}/mod.rs does not declare, so no test \
         binary compiles them: {forgotten:?}"
    );
    assert!(
        missing.is_empty(),
        "modules tests/{folder}/mod.rs declares without a file in tests/{folder}/: {missing:?}"
    );
}

#[test]
fn every_suite_file_is_part_of_the_test_binary() {
    assert_all_declared("suite");
}

#[test]
fn every_support_file_is_part_of_the_test_binary() {
    assert_all_declared("support");
}

/// cargo makes a test binary of each `tests/*.rs`: `all.rs` is the only one.
#[test]
fn all_rs_is_the_only_test_binary() {
    let top = rust_files(&tests_dir());
    assert_eq!(top, BTreeSet::from(["all".to_string()]));
    let all = std::fs::read_to_string(tests_dir().join("all.rs")).unwrap();
    let mods = declared(&tests_dir().join("all.rs"));
    assert_eq!(
        mods,
        BTreeSet::from(["suite".to_string(), "support".to_string()]),
        "{all}"
    );
}

/// The declarations are read as this test expects them: one per line.
#[test]
fn declarations_are_read_from_mod_rs() {
    let dir = target_tempdir("layout-");
    let mod_rs = dir.path().join("mod.rs");
    std::fs::write(
        &mod_rs,
        "//! mod not_this;\n// mod nor_this;\nmod one;\npub mod two;\nmod inline {}\n",
    )
    .unwrap();
    assert_eq!(
        declared(&mod_rs),
        BTreeSet::from(["one".to_string(), "two".to_string()])
    );
}
