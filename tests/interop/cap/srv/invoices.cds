// Vendor invoices keyed like D365's alternate key: vendor account + invoice number.
@path: '/odata/v4/invoices'
service InvoiceService {
  @cds.persistence.skip
  entity VendorInvoices {
    key VendorAccount : String(20);
    key InvoiceNumber : String(40);
        Company       : String(10);
        InvoiceDate   : Date;
        DueDate       : Date;
        Currency      : String(3);
        Amount        : Decimal(38, 4);
        Tax           : Decimal(38, 4);
        Description   : String(1000);
        Lines         : LargeString;
  }
}
