//! Archives in object storage: `-o s3://` against moto's S3 server read back by
//! boto3 (`collect`), and the library's destinations against an in-memory store
//! (`destination`).

mod collect;
mod destination;
