//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).

fn main() -> anyhow::Result<()> {
    anyhow::bail!("no tasks yet")
}
