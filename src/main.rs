//! `bazaar serve` (the default) and `bazaar migrate`.

use anyhow::Context;
use bazaar::app::Application;
use bazaar::config::{Cli, Command};
use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    bazaar::telemetry::init(cli.settings.log_format);
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
        Command::Serve => {
            let app = Application::build(cli.settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
}
