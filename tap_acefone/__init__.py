"""Singer tap for Acefone, Servetel and Tata Tele Smartflo call detail records."""
