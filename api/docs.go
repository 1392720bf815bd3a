package api

import (
	"embed"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
)

// docsFiles are the files of the Swagger UI page; anything else under
// /docs/ is a problem+json 404. (Swagger 2.0's doc.json is not served:
// /openapi.json is the one contract.)
var docsFiles = []string{
	"index.html", "index.css", "swagger-initializer.js", "swagger-ui.css", "swagger-ui-bundle.js",
	"swagger-ui-standalone-preset.js", "favicon-16x16.png", "favicon-32x32.png",
}

// docsPage holds the page's own files, pointed at /openapi.json: what
// gin-swagger rendered from its templates on each request, kept as files.
// gin-swagger also linked swaggo/swag, and with it swag's Go source
// parser (go/types, golang.org/x/tools): 3 MB of binary that serve never ran.
//
//go:embed docsui
var docsPage embed.FS

// docsTypes are the Content-Types the page's files are served with.
var docsTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
	".js": "application/javascript", ".png": "image/png",
}

// docsCSP lets the Swagger UI page load only its own files and call only
// this origin. Swagger UI sets inline styles (style attributes), nothing
// else inline.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// swaggerUI serves the Swagger UI page on /openapi.json: its own files
// from docsui, Swagger UI's from the files embedded in the binary
// (swaggo/files/v2), read where they are, nothing copied at start-up.
func swaggerUI() gin.HandlerFunc {
	return func(c *gin.Context) {
		name := strings.TrimPrefix(c.Param("any"), "/")
		if name == "" {
			c.Redirect(http.StatusMovedPermanently, "/docs/index.html")
			return
		}
		if !slices.Contains(docsFiles, name) {
			writeProblem(c, newProblem(http.StatusNotFound, "route_not_found", "Not found", "no such file of the API docs; open /docs/index.html"))
			return
		}
		files, file := swaggerfiles.FS, name
		if _, err := fs.Stat(docsPage, "docsui/"+name); err == nil {
			files, file = docsPage, "docsui/"+name
		}
		f, err := files.Open(file)
		if err != nil {
			writeProblem(c, newProblem(http.StatusNotFound, "route_not_found", "Not found", "no such file of the API docs; open /docs/index.html"))
			return
		}
		defer f.Close()
		rs, ok := f.(io.ReadSeeker) // embed.FS's files are
		if !ok {
			writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Internal server error", ""))
			return
		}
		c.Header("Content-Security-Policy", docsCSP)
		c.Header("Content-Type", docsTypes[path.Ext(name)])
		if ext := path.Ext(name); ext == ".js" || ext == ".css" || ext == ".png" {
			c.Header("Cache-Control", "public, max-age=3600") // versioned with the binary
		}
		http.ServeContent(c.Writer, c.Request, name, time.Time{}, rs)
	}
}
