namespace Federation.Router;
