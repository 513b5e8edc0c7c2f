module github.com/dswarm/dswarm

go 1.26.8

require (
	github.com/docker/docker v28.5.2+incompatible
	github.com/spf13/pflag v1.0.10
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
