//! Who is in the room.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct OnlineListProps {
    pub members: Vec<String>,
    /// The person using this client, marked in the list.
    #[prop_or_default]
    pub me: Option<String>,
}

/// The online list, sorted for reading (the server's order is join order).
#[component]
pub fn OnlineList(props: &OnlineListProps) -> Html {
    let members = sorted(&props.members);
    let me = props.me.as_deref();
    html! {
        <section class="online" aria-label="Online">
            <h2 class="online__title">
                { "Online " }<span class="online__count">{ members.len() }</span>
            </h2>
            <ul class="online__list" data-testid="online-list">
                { for members.into_iter().map(|nick| {
                    let mine = Some(nick) == me;
                    html! {
                        <li
                            key={nick}
                            class={classes!("online__member", mine.then_some("online__member--me"))}
                            title={mine.then_some("you")}
                        >
                            { nick }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

/// Case-insensitive order, ties broken exactly, so the list does not jump.
fn sorted(members: &[String]) -> Vec<&str> {
    let mut list: Vec<&str> = members.iter().map(String::as_str).collect();
    list.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_sort_case_insensitively() {
        let members = ["bob", "Alice", "carol", "alice"].map(String::from);
        assert_eq!(sorted(&members), ["Alice", "alice", "bob", "carol"]);
    }
}
