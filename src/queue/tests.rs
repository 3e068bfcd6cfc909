use super::*;

fn group() -> (tempfile::TempDir, Group) {
    let dir = tempfile::tempdir().unwrap();
    let g = Group::open(dir.path(), "g1").unwrap();
    (dir, g)
}

#[test]
fn tickets_are_handed_out_in_order_and_never_twice() {
    let (dir, g) = group();
    let a = g.take_ticket().unwrap();
    let b = g.take_ticket().unwrap();
    // Another opening of the same group continues the count.
    let again = Group::open(dir.path(), "g1").unwrap();
    let c = again.take_ticket().unwrap();
    assert!(a < b && b < c, "{a} {b} {c}");
}

#[test]
fn an_entry_counts_while_it_is_held_and_goes_when_dropped() {
    let (_dir, g) = group();
    assert_eq!(g.running_count(), 0);
    let one = g.claim("s1", 1).unwrap();
    let two = g.claim("s2", 1).unwrap();
    assert_eq!(g.running_count(), 2);
    drop(one);
    assert_eq!(g.running_count(), 1);
    drop(two);
    assert_eq!(g.running_count(), 0);
    assert_eq!(g.sweep(false), 0, "nothing is left behind");
}

#[test]
fn an_entry_nobody_holds_is_dead_counted_nowhere_and_swept() {
    let (dir, g) = group();
    // What a supervisor killed outright leaves: the file, unlocked.
    let running = dir.path().join("queue/g1/running/s9-1");
    std::fs::write(&running, "").unwrap();
    std::fs::write(dir.path().join("queue/g1/line/00000000000000000001-s9"), "").unwrap();
    assert_eq!(g.running_count(), 0);
    assert!(g.line_is_empty());
    assert_eq!(g.sweep(false), 2);
    assert!(running.exists(), "a report removes nothing");
    assert_eq!(g.sweep(true), 2);
    assert!(!running.exists());
    assert_eq!(g.sweep(false), 0);
}

#[test]
fn the_line_is_read_in_ticket_order() {
    let (_dir, g) = group();
    let _c = g.join(30, "cc").unwrap();
    let _a = g.join(2, "aa").unwrap();
    let b = g.join(10, "bb").unwrap();
    assert_eq!(g.ahead_of(2, "aa"), None);
    // Zero-padded: ticket 10 comes after ticket 2, not before it.
    assert_eq!(
        g.ahead_of(10, "bb").as_deref(),
        Some("00000000000000000002-aa")
    );
    assert_eq!(
        g.ahead_of(30, "cc").as_deref(),
        Some("00000000000000000010-bb")
    );
    assert_eq!(g.place(30, "cc"), Some(3));
    drop(b);
    assert_eq!(
        g.ahead_of(30, "cc").as_deref(),
        Some("00000000000000000002-aa")
    );
    assert_eq!(g.place(30, "cc"), Some(2));
    assert_eq!(g.place(10, "bb"), None);
}

#[test]
fn group_names_are_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Group::open(dir.path(), "../escape").is_err());
    assert!(Group::open(dir.path(), "").is_err());
    assert!(Group::existing(dir.path(), "absent").is_none());
    Group::open(dir.path(), "db").unwrap();
    Group::open(dir.path(), DEFAULT_GROUP).unwrap();
    assert_eq!(Group::names(dir.path()), ["db", "default"]);
}

#[test]
fn a_held_entry_is_not_inherited_by_a_program_started_after_it() {
    let (_dir, g) = group();
    let slot = g.claim("s1", 1).unwrap();
    // A child that outlives the holder must not keep the slot taken.
    let mut child = std::process::Command::new("sleep")
        .arg("5")
        .spawn()
        .unwrap();
    drop(slot);
    assert_eq!(g.running_count(), 0);
    let _ = child.kill();
    let _ = child.wait();
}
