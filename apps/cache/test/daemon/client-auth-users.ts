// The people of the client-auth tests: upstream accounts with different rights, and the cache's own.
export const alice = { username: "alice", password: "alice-secret-password-1" };
export const bob = { username: "bob", password: "bob-secret-password-2" };
export const carol = { username: "carol", password: "carol-secret-password-3" };
/** The cache's own upstream account: it may pull everything, and fills the cache with it. */
export const mirror = { username: "mirror", password: "mirror-secret-password-4" };
