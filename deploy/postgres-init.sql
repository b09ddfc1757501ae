-- Run once by the postgres image, when its data volume is still empty
-- (mounted into /docker-entrypoint-initdb.d/ by docker-compose.yml).
-- POSTGRES_DB (motcua) holds the bot's store; these two are the case (dossier) database and
-- Rasa's tracker store. The gateways create and upgrade the schemas of the first two (Alembic,
-- under an advisory lock); Rasa creates its own table.
CREATE DATABASE motcua_cases;
CREATE DATABASE rasa;
