// The API reference at /docs: Swagger UI (from the npm registry, bundled here: no CDN at run
// time) rendering the server's OpenAPI description, GET /openapi.json of the API URL the console
// is set to (this origin unless the sign-in page chose another), or of ?url=.

import "swagger-ui-dist/swagger-ui.css";
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-es-bundle.js";
import { loadSettings } from "./api";

const given = new URLSearchParams(location.search).get("url");
const url = given ?? `${loadSettings().apiUrl.replace(/\/$/, "")}/openapi.json`;

SwaggerUIBundle({
  url,
  dom_id: "#swagger",
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: false,
});
