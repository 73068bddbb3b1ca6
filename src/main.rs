//! `bazaar serve` (the default), `bazaar migrate`, `bazaar seed` and `bazaar admin`.

use anyhow::Context;
use bazaar::app::Application;
use bazaar::config::{AdminCommand, Cli, Command};
use bazaar_actors::domain::moderation::Role;
use clap::Parser;

#[actix_web::main]
async fn main() {
    let cli = Cli::parse();
    bazaar::telemetry::init(cli.settings.log_format);
    if let Err(e) = run(cli).await {
        // One line an operator can act on, e.g. "error: cannot listen on 127.0.0.1:8080:
        // address already in use". Exiting here, inside the runtime, skips tearing down
        // actors that never ran (their shutdown would need the runtime being dropped).
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let url = cli.settings.database_url.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let pool = bazaar_actors::store::connect(&url, 1)?;
                bazaar_actors::store::migrate(&mut *pool.get()?)?;
                Ok(())
            })
            .await
            .context("running migrations")??;
            tracing::info!("migrations applied");
        }
        Command::Seed { listings } => {
            let url = cli.settings.database_url.clone();
            let started = std::time::Instant::now();
            let made =
                tokio::task::spawn_blocking(move || bazaar::seed::catalogue_at(&url, listings))
                    .await
                    .context("seeding")??;
            tracing::info!(
                listings = made.listings,
                sellers = made.sellers,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "catalogue seeded"
            );
        }
        Command::Admin { action } => {
            let (username, role) = match action {
                AdminCommand::Grant { username, role } => (username, Role::from(role)),
                AdminCommand::Revoke { username } => (username, Role::User),
            };
            let url = cli.settings.database_url.clone();
            let pool = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let pool = bazaar_actors::store::connect(&url, 1)?;
                bazaar_actors::store::migrate(&mut *pool.get()?)?;
                Ok(pool)
            })
            .await
            .context("connecting")??;
            let user = bazaar_actors::accounts::set_role(&pool, username, role)
                .await
                .context("changing the role")?;
            tracing::info!(user.id = user.id, role = %user.role, "role set");
        }
        Command::Serve => {
            let app = Application::build(cli.settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
}
