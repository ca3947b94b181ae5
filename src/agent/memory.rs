//! Conversation memory: the last few turns per chat, forgotten after a quiet spell or on
//! `/forget`. In memory only: a restart forgets, which is the safe default.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many turns are kept per chat.
const TURNS: usize = 6;
/// A chat quiet this long starts afresh.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// One exchange: what the operator said and what the agent answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub asked: String,
    pub answered: String,
}

/// Memory of every chat.
#[derive(Debug, Default)]
pub struct Memory {
    chats: Mutex<HashMap<String, (Instant, VecDeque<Turn>)>>,
}

impl Memory {
    /// The remembered turns of `chat`, oldest first.
    pub fn recall(&self, chat: &str) -> Vec<Turn> {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        match chats.get(chat) {
            Some((at, _)) if at.elapsed() > IDLE => {
                chats.remove(chat);
                Vec::new()
            }
            Some((_, turns)) => turns.iter().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Remembers one turn.
    pub fn remember(&self, chat: &str, turn: Turn) {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        let entry = chats
            .entry(chat.to_string())
            .or_insert_with(|| (Instant::now(), VecDeque::new()));
        entry.0 = Instant::now();
        entry.1.push_back(turn);
        while entry.1.len() > TURNS {
            entry.1.pop_front();
        }
    }

    /// Forgets `chat`; returns how many turns were dropped.
    pub fn forget(&self, chat: &str) -> usize {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        chats.remove(chat).map(|(_, t)| t.len()).unwrap_or(0)
    }
}
