//! A session whose `adapter` this zwarm does not know (a newer version may
//! have written it): shown as it is, refused alike by every verb that needs
//! the agent, and never changed by either.

use crate::support::output::{has, ANY, EMPTY};
use crate::support::world::World;

const REFUSAL: &str = "runs the agent 'aider', which this version of zwarm does not know";

#[test]
fn list_and_show_show_it_and_the_verbs_that_need_the_agent_refuse_it_alike() {
    let w = World::new();
    let id = w.completed(&[]);
    w.edit_meta(&id, |m| m["adapter"] = "aider".into());
    let before = w.meta_bytes(&id);

    w.run(&["list"]).expect(0, has("aider"), EMPTY);
    w.run(&["show", &id]).expect(0, has("aider"), EMPTY);
    assert_eq!(w.json(&["show", &id])["adapter"], "aider");
    assert_eq!(w.json(&["list"])["sessions"][0]["adapter"], "aider");

    for verb in [
        vec!["trajectory", id.as_str()],
        vec!["watch", id.as_str()],
        vec!["inject", id.as_str(), "go on"],
    ] {
        w.run(&verb).expect(1, EMPTY, has(REFUSAL));
    }
    // What does not need the agent still works.
    w.run(&["output", &id]).expect(0, ANY, EMPTY);
    assert_eq!(w.meta_bytes(&id), before, "nothing rewritten");
}
