"""Small applications written for other libraries, which the migration guides' tests migrate."""
