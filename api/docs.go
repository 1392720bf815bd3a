package api

import (
	"context"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
	ginswagger "github.com/swaggo/gin-swagger"
	"golang.org/x/net/webdav"
)

// docsFiles are the files of the Swagger UI page; anything else under
// /docs/ is a problem+json 404. (gin-swagger's own doc.json, the Swagger
// 2.0 document, is not served: /openapi.json is the one contract.)
var docsFiles = []string{
	"index.html", "index.css", "swagger-initializer.js", "swagger-ui.css", "swagger-ui-bundle.js",
	"swagger-ui-standalone-preset.js", "favicon-16x16.png", "favicon-32x32.png",
}

// docsCSP lets the Swagger UI page load only its own files and call only
// this origin. Swagger UI sets inline styles (style attributes), nothing
// else inline.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// swaggerUI serves the Swagger UI page on /openapi.json. gin-swagger
// takes the path prefix of the first request it sees and matches file
// names anywhere in the request URI, so each request reaches it rewritten
// to exactly /docs/<file>.
func swaggerUI() gin.HandlerFunc {
	files := &webdav.Handler{FileSystem: embeddedFiles{http.FS(swaggerfiles.FS)}, LockSystem: webdav.NewMemLS()}
	ui := ginswagger.WrapHandler(files, ginswagger.URL("/openapi.json"))
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
		c.Header("Content-Security-Policy", docsCSP)
		if ext := path.Ext(name); ext == ".js" || ext == ".css" || ext == ".png" {
			c.Header("Cache-Control", "public, max-age=3600") // versioned with the binary
		}
		r := c.Request.Clone(c.Request.Context())
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI = "/docs/"+name, "", "", "/docs/"+name
		c.Request = r
		ui(c)
	}
}

// embeddedFiles is the read-only webdav.FileSystem gin-swagger takes, over
// the Swagger UI files embedded in the binary (swaggo/files/v2). swaggo/files
// v1 copied every file into an in-memory WebDAV tree at init: 7 MB of heap
// held from start-up for a page an operator opens now and then; embedded
// files stay in the binary until a request reads them.
type embeddedFiles struct{ fs http.FileSystem }

func (e embeddedFiles) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, os.ErrPermission
	}
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return readOnlyFile{f}, nil
}

func (e embeddedFiles) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (embeddedFiles) Mkdir(context.Context, string, os.FileMode) error { return os.ErrPermission }
func (embeddedFiles) RemoveAll(context.Context, string) error          { return os.ErrPermission }
func (embeddedFiles) Rename(context.Context, string, string) error     { return os.ErrPermission }

type readOnlyFile struct{ http.File }

func (readOnlyFile) Write([]byte) (int, error) { return 0, os.ErrPermission }
