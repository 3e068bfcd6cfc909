use super::*;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

#[test]
fn a_launch_request_survives_any_bytes() {
    let req = LaunchRequest {
        program: OsString::from_vec(b"/opt/ag ent\n\xff".to_vec()),
        args: vec![
            "--".into(),
            OsString::from_vec(b"12\nx\0y".to_vec()),
            "".into(),
        ],
        working_dir: PathBuf::from("/w/x"),
        stdin: Some(vec![b'a'; 300_000]),
    };
    assert_eq!(LaunchRequest::decode(&req.encode()), Some(req.clone()));
    let plain = LaunchRequest { stdin: None, ..req };
    let bytes = plain.encode();
    assert_eq!(LaunchRequest::decode(&bytes), Some(plain));
    for cut in [0, 5, bytes.len() - 1] {
        assert_eq!(LaunchRequest::decode(&bytes[..cut]), None, "{cut}");
    }
    let mut longer = bytes.clone();
    longer.push(b'x');
    assert_eq!(LaunchRequest::decode(&longer), None);
}
