//! What happens to a message once the store has committed it: the seam
//! where a deployment of several nodes hands it on to the others.
//!
//! The hub calls [`Fanout::committed`] once per committed message (not for
//! a resend the store recognized), after acknowledging it to its sender.
//! [`LocalFanout`], the only one a single node needs, delivers it to the
//! members of its room on this node. A relay for several nodes would also
//! publish it (the committed message, with the sequence number the store
//! gave it) for the other nodes, which deliver it to their own members with
//! [`Rooms::deliver`]; the doors and the commit path stay as they are.

use shared::ChatMessage;

use super::rooms::Rooms;

/// Where committed messages go.
pub trait Fanout: Send + 'static {
    /// `msg` was committed on this node: deliver it to this node's members
    /// (`rooms`) and wherever else it must go. Runs on the hub's task, so it
    /// must not wait: hand slow work (a network publish) to a task of its own.
    fn committed(&mut self, msg: ChatMessage, rooms: &mut Rooms);
}

/// One node: a committed message goes to the members of its room here.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFanout;

impl Fanout for LocalFanout {
    fn committed(&mut self, msg: ChatMessage, rooms: &mut Rooms) {
        rooms.deliver(msg);
    }
}
